"""Reference data cached per database (hub.db.refcache): a committed write to a table the value
was read from makes the next lookup read again; a write of live state (changes.VOLATILE) does
not; what a unit reads after writing the table itself is not kept (it may roll back)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import event, select, update

from hub.db import changes
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.changes import VOLATILE
from hub.db.models import ChangeCounterRow, PartyRow
from hub.db.refcache import cached
from hub.settings import Settings


async def name_of_first(s, loads: list[str]) -> str:  # type: ignore[no-untyped-def]
    """The first party's name through the cache; ``loads`` records each database read."""
    async def load() -> str:
        loads.append("load")
        return str((await s.scalars(select(PartyRow.name).order_by(PartyRow.id))).first())
    return await cached(s, "first-party-name", (PartyRow.__tablename__,), load)


async def test_cached_value_follows_committed_writes(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    loads: list[str] = []

    try:
        async with transaction(sm) as s:
            s.add(PartyRow(country_code="LV", party_id="AAA", role="CPO", name="one"))
        async with transaction(sm) as s:
            assert await name_of_first(s, loads) == "one"
        async with transaction(sm) as s:
            assert await name_of_first(s, loads) == "one"
        assert len(loads) == 1  # the second lookup was served from memory

        async with transaction(sm) as s:  # live-state write: no reload
            await s.execute(update(PartyRow).values(name="one"), execution_options=VOLATILE)
        async with transaction(sm) as s:
            assert await name_of_first(s, loads) == "one"
        assert len(loads) == 1

        try:  # read inside a unit that wrote the table, then rolled back: not kept
            async with transaction(sm) as s:
                await s.execute(update(PartyRow).values(name="uncommitted"))
                assert await name_of_first(s, loads) == "uncommitted"
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        async with transaction(sm) as s:
            assert await name_of_first(s, loads) == "one"

        async with transaction(sm) as s:  # a committed change is seen by the next lookup
            await s.execute(update(PartyRow).values(name="two"))
        async with transaction(sm) as s:
            assert await name_of_first(s, loads) == "two"
    finally:
        await engine.dispose()


async def test_each_database_has_its_own_cache(make_settings) -> None:  # type: ignore[no-untyped-def]
    values = []
    for name in ("first", "second"):
        settings = await asyncio.to_thread(make_settings)
        engine = make_engine(settings)
        sm = make_sessionmaker(engine)
        try:
            async with transaction(sm) as s:
                s.add(PartyRow(country_code="LV", party_id="AAA", role="CPO", name=name))
            async with transaction(sm) as s:
                async def load() -> str:
                    return str((await s.scalars(select(PartyRow.name))).first())
                values.append(await cached(s, "name", (PartyRow.__tablename__,), load))
        finally:
            await engine.dispose()
    assert values == ["first", "second"]


async def test_another_process_write_is_seen_through_the_change_counter(
        settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A second engine stands for another process: its Core write bypasses this process's
    table generations. Without a counter bump the cached value stays (until MAX_AGE_SECONDS);
    a unit of work there bumps the counter and the next lookup here reads again."""
    monkeypatch.setattr(changes, "POLL_SECONDS", 0.0)
    engine, other = make_engine(settings), make_engine(settings)
    sm = make_sessionmaker(engine)
    loads: list[str] = []

    try:
        async with transaction(sm) as s:
            s.add(PartyRow(country_code="LV", party_id="AAA", role="CPO", name="one"))
        async with sm() as s:
            assert await name_of_first(s, loads) == "one"
        async with other.begin() as conn:  # bypasses units of work: not signalled
            await conn.execute(update(PartyRow).values(name="two"))
        async with sm() as s:
            assert await name_of_first(s, loads) == "one"
        assert len(loads) == 1
        async with sm() as s:  # our own committed write does not count as foreign
            value = await s.scalar(select(ChangeCounterRow.value))
        async with transaction(sm) as s:
            s.add(PartyRow(country_code="LV", party_id="BBB", role="CPO", name="three"))
        async with sm() as s:
            assert await s.scalar(select(ChangeCounterRow.value)) == value + 1
            assert await name_of_first(s, loads) == "two"  # reloaded by the local generation
        assert len(loads) == 2
        async with sm() as s:
            assert await name_of_first(s, loads) == "two"
        assert len(loads) == 2  # and no reload for the bump it made itself
        # Another process's unit of work: its write and its counter bump (what
        # changes._before_commit adds there), without this process's generations moving.
        async with other.begin() as conn:
            await conn.execute(update(PartyRow).where(PartyRow.party_id == "AAA")
                               .values(name="four"))
            await conn.execute(update(ChangeCounterRow)
                               .values(value=ChangeCounterRow.value + 1))
        async with sm() as s:
            assert await name_of_first(s, loads) == "four"
        assert len(loads) == 3
    finally:
        await engine.dispose()
        await other.dispose()


async def test_station_caches_primed_in_bulk(settings: Settings) -> None:
    """network.prime_station_caches reads every station's facts and EVSEs at once; later
    lookups are served from memory until a station is written."""
    from hub.db.models import StationRow
    from hub.services import network

    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        async with transaction(sm) as s:
            s.add_all([StationRow(id=f"PR-{i}", created_at=datetime.now(UTC),
                                  vendor="ABB") for i in range(3)])
        async with sm() as s:
            assert await network.prime_station_caches(s) >= 3

        statements: list[str] = []

        def count(*args) -> None:  # type: ignore[no-untyped-def]
            statements.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            async with sm() as s:
                facts = [await network.station_facts(s, f"PR-{i}") for i in range(3)]
                refs = [await network.evse_ref(s, f"PR-{i}", 1) for i in range(3)]
            assert [f.vendor for f in facts if f is not None] == ["ABB"] * 3
            assert refs == [None] * 3  # no EVSE: known to be none, not looked up
            assert not [sql for sql in statements if "change_counter" not in sql]
            async with transaction(sm) as s:  # a write to stations: read again
                await s.execute(update(StationRow).where(StationRow.id == "PR-0")
                                .values(vendor="Efacec"))
            statements.clear()
            async with sm() as s:
                fresh = await network.station_facts(s, "PR-0")
            assert fresh is not None and fresh.vendor == "Efacec"
            assert [sql for sql in statements if "change_counter" not in sql]
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    finally:
        await engine.dispose()
