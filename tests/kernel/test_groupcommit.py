"""Group commit (hub.db.groupcommit): writes of concurrent callers share a transaction, each
caller returns only after its rows are committed, and a bad write fails only its own caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.groupcommit import GroupCommitter, Write
from hub.db.models import StationRow, StationStatusRow
from hub.services import network
from hub.settings import Settings

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


async def test_concurrent_writes_share_transactions_and_are_stored(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    committer = GroupCommitter(sm)
    try:
        async with transaction(sm) as s:
            s.add_all([StationRow(id=f"CP{i}", created_at=NOW) for i in range(50)])

        async def report(i: int) -> None:
            await committer.write(
                *network.status_writes(f"CP{i}", connector=0, status="Available",
                                       error_code="NoError", info=None, timestamp=NOW,
                                       now=NOW, evse=None),
                network.seen_write(f"CP{i}", NOW))

        await asyncio.gather(*(report(i) for i in range(50)))
        assert 1 <= committer.batches < 50  # callers queued behind a commit share the next
        async with sm() as s:
            stored = (await s.scalars(select(StationStatusRow.station_id))).all()
            seen = (await s.scalars(select(StationRow.id).where(
                StationRow.last_seen_at == NOW, StationRow.connected.is_(True)))).all()
        assert sorted(stored) == sorted(f"CP{i}" for i in range(50))
        assert len(seen) == 50
    finally:
        await engine.dispose()


async def test_a_bad_write_fails_only_its_caller(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    committer = GroupCommitter(sm)
    try:
        async with transaction(sm) as s:
            s.add_all([StationRow(id=i, created_at=NOW) for i in ("CP-A", "CP-B")])

        def history(station: str) -> list[Write]:
            return network.status_writes(station, connector=1, status="Charging",
                                         error_code="NoError", info=None, timestamp=NOW,
                                         now=NOW, evse=None)

        results = await asyncio.gather(
            committer.write(*history("CP-A")),
            committer.write(*history("NO-SUCH-STATION")),  # foreign key: refused
            committer.write(*history("CP-B")),
            return_exceptions=True)
        assert results[0] == [None] and results[2] == [None]  # one entry per write
        assert isinstance(results[1], IntegrityError)
        async with sm() as s:
            stored = (await s.scalars(select(StationStatusRow.station_id))).all()
        assert sorted(stored) == ["CP-A", "CP-B"]  # nothing lost, nothing half-stored
    finally:
        await engine.dispose()


async def test_no_writes_is_a_no_op(settings: Settings) -> None:
    engine = make_engine(settings)
    committer = GroupCommitter(make_sessionmaker(engine))
    try:
        await committer.write()
        assert committer.batches == 0
    finally:
        await engine.dispose()



@asynccontextmanager
async def committer_with_cpo(settings: Settings
                             ) -> AsyncIterator[tuple[Any, GroupCommitter, int]]:
    """A sessionmaker, its group committer and a CPO party's pk (sessions need one)."""
    from hub.db.models import PartyRow

    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        async with transaction(sm) as s:
            party = PartyRow(country_code="LV", party_id="AAA", role="CPO", name="cpo")
            s.add(party)
            await s.flush()
            party_pk = int(party.id)
        yield sm, GroupCommitter(sm), party_pk
    finally:
        await engine.dispose()


async def test_returning_writes_get_their_own_rows(settings: Settings) -> None:
    """An INSERT ... RETURNING batched for many callers hands each caller its own id (the OCPP
    transactionId of a group-committed StartTransaction), also when a batch is retried."""
    from sqlalchemy import insert

    from hub.db.groupcommit import Statement
    from hub.db.models import ChargingSessionRow

    table = ChargingSessionRow.__table__
    new_session = Statement(insert(table).returning(table.c.id, table.c.token_uid,
                                                    sort_by_parameter_order=True),
                            rank=10, returning=True)
    async with committer_with_cpo(settings) as (sm, committer, party_pk):
        def session_row(tag: str, party: int) -> Write:
            return Write(new_session, {
                "session_id": f"S-{tag}", "cpo_party_pk": party, "token_uid": tag,
                "start_date_time": NOW, "last_updated": NOW})

        tags = [f"TAG{i:02}" for i in range(30)]
        results = await asyncio.gather(*(committer.write(session_row(t, party_pk))
                                         for t in tags))
        assert [r[0].token_uid for r in results] == tags
        ids = [r[0].id for r in results]
        assert len(set(ids)) == 30
        # A batch with a bad write (unknown party: foreign key) is retried write by write.
        mixed = await asyncio.gather(committer.write(session_row("OK1", party_pk)),
                                     committer.write(session_row("BAD", 999_999)),
                                     committer.write(session_row("OK2", party_pk)),
                                     return_exceptions=True)
        assert isinstance(mixed[1], IntegrityError)
        assert [r[0].token_uid for r in (mixed[0], mixed[2])] == ["OK1", "OK2"]
        async with sm() as s:
            stored = dict((await s.execute(select(ChargingSessionRow.id,
                                                  ChargingSessionRow.token_uid))).all())
        assert {stored[i] for i in ids} == set(tags)
        assert sorted(stored.values()) == sorted([*tags, "OK1", "OK2"])


async def test_key_guarded_insert_skips_existing_keys(settings: Settings) -> None:
    """An INSERT guarded by a key (``unless_exists``): a write whose key the table holds, or an
    earlier write of the same batch has, inserts nothing and gets None; the other writes of the
    batch - plain, batched and guarded ones - are stored as usual, also when the batch is
    retried write by write. The key includes a timestamp (compared as stored)."""
    from sqlalchemy import insert

    from hub.db.groupcommit import Statement
    from hub.db.models import ChargingSessionRow

    table = ChargingSessionRow.__table__
    new_tag = Statement(
        insert(table).returning(table.c.id, table.c.token_uid, sort_by_parameter_order=True),
        rank=10, returning=True, unless_exists=(table.c.token_uid, table.c.start_date_time))
    async with committer_with_cpo(settings) as (sm, committer, party_pk):
        async with transaction(sm) as s:
            s.add(StationRow(id="CP-A", created_at=NOW))
            s.add(ChargingSessionRow(session_id="S-OLD", cpo_party_pk=party_pk, token_uid="OLD",
                                     start_date_time=NOW, last_updated=NOW))

        def session_row(tag: str, party: int = party_pk) -> Write:
            return Write(new_tag, {"session_id": str(uuid.uuid4()), "cpo_party_pk": party,
                                   "token_uid": tag, "start_date_time": NOW,
                                   "last_updated": NOW})

        batches = committer.batches
        results = await asyncio.gather(
            committer.write(session_row("NEW1")),
            committer.write(session_row("OLD")),  # exists: nothing inserted
            committer.write(session_row("NEW2"), network.seen_write("CP-A", NOW)),
            committer.write(session_row("NEW1")),  # inserted just before, in this batch
        )
        assert committer.batches == batches + 1  # one transaction for all four callers
        assert results[1] == [None] and results[3] == [None]
        assert results[0][0].token_uid == "NEW1" and results[2][0].token_uid == "NEW2"
        assert results[2][1] is None  # the plain write: no RETURNING
        # Retried write by write after a bad write (unknown party: foreign key).
        mixed = await asyncio.gather(committer.write(session_row("NEW3")),
                                     committer.write(session_row("BAD", 999_999)),
                                     committer.write(session_row("OLD")),
                                     return_exceptions=True)
        assert isinstance(mixed[1], IntegrityError)
        assert mixed[0][0].token_uid == "NEW3" and mixed[2] == [None]
        async with sm() as s:
            stored = dict((await s.execute(select(ChargingSessionRow.id,
                                                  ChargingSessionRow.token_uid))).all())
            seen = await s.scalar(select(StationRow.last_seen_at).where(StationRow.id == "CP-A"))
        assert sorted(stored.values()) == ["NEW1", "NEW2", "NEW3", "OLD"]
        assert stored[results[0][0].id] == "NEW1" and stored[mixed[0][0].id] == "NEW3"
        assert seen == NOW
