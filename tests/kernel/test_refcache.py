"""Reference data cached per database (hub.db.refcache): a committed write to a table the value
was read from makes the next lookup read again; a write of live state (changes.VOLATILE) does
not; what a unit reads after writing the table itself is not kept (it may roll back)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.changes import VOLATILE
from hub.db.models import PartyRow
from hub.db.refcache import cached
from hub.settings import Settings


async def test_cached_value_follows_committed_writes(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    loads: list[str] = []

    async def name_of_first(s) -> str:  # type: ignore[no-untyped-def]
        async def load() -> str:
            loads.append("load")
            return str((await s.scalars(select(PartyRow.name).order_by(PartyRow.id))).first())
        return await cached(s, "first-party-name", (PartyRow.__tablename__,), load)

    try:
        async with transaction(sm) as s:
            s.add(PartyRow(country_code="LV", party_id="AAA", role="CPO", name="one"))
        async with transaction(sm) as s:
            assert await name_of_first(s) == "one"
        async with transaction(sm) as s:
            assert await name_of_first(s) == "one"
        assert len(loads) == 1  # the second lookup was served from memory

        async with transaction(sm) as s:  # live-state write: no reload
            await s.execute(update(PartyRow).values(name="one"), execution_options=VOLATILE)
        async with transaction(sm) as s:
            assert await name_of_first(s) == "one"
        assert len(loads) == 1

        try:  # read inside a unit that wrote the table, then rolled back: not kept
            async with transaction(sm) as s:
                await s.execute(update(PartyRow).values(name="uncommitted"))
                assert await name_of_first(s) == "uncommitted"
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        async with transaction(sm) as s:
            assert await name_of_first(s) == "one"

        async with transaction(sm) as s:  # a committed change is seen by the next lookup
            await s.execute(update(PartyRow).values(name="two"))
        async with transaction(sm) as s:
            assert await name_of_first(s) == "two"
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
