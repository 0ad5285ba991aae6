"""Group commit (hub.db.groupcommit): writes of concurrent callers share a transaction, each
caller returns only after its rows are committed, and a bad write fails only its own caller."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

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
        assert results[0] is None and results[2] is None
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

