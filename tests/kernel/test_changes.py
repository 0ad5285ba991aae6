"""Table generations for in-process caches: bumped after a commit that wrote the table (ORM
flush or Core statement on a session), never by a rollback or by other tables."""

from __future__ import annotations

from sqlalchemy import update

from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.changes import generation
from hub.db.models import PartnerRow, TokenRow
from hub.settings import Settings


async def test_generation_follows_committed_writes(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        start = generation("partners")
        async with transaction(sm) as s:
            s.add(PartnerRow(name="p", endpoints=[]))
            assert generation("partners") == start  # not before the commit
        assert generation("partners") == start + 1
        async with transaction(sm) as s:
            await s.execute(update(PartnerRow).values(status="OFFLINE"))
        assert generation("partners") == start + 2
        try:
            async with transaction(sm) as s:
                s.add(PartnerRow(name="q", endpoints=[]))
                await s.flush()
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        assert generation("partners") == start + 2  # rolled back: nothing changed
        tokens = generation("tokens")
        async with transaction(sm) as s:
            await s.execute(update(TokenRow).values(valid=True))
        assert generation("partners") == start + 2 and generation("tokens") == tokens + 1
    finally:
        await engine.dispose()
