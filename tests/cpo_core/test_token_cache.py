"""A token's facts are reference data (hub.services.tokens, hub.db.refcache): an Authorize for
a token read before needs no SQL, and every committed change to the token - blocked,
unblocked, created after an unknown idTag was refused - is in the very next answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from cpo_core.simulator import SimulatedStation
from tests.cpo_core.factories import PASSWORD, seed_station, seed_token

TAG = "04A1B2C3D4"


def count_token_reads(hub_ctx: Any) -> list[str]:
    reads: list[str] = []

    @event.listens_for(hub_ctx.engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM tokens" in statement:
            reads.append(statement)

    return reads


async def test_authorize_follows_every_committed_token_change(hub_ctx, ocpp_url) -> None:  # type: ignore[no-untyped-def]
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    reads = count_token_reads(hub_ctx)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        assert await st.authorize(TAG) == "Accepted"
        first = len(reads)
        assert first >= 1
        assert await st.authorize(TAG) == "Accepted"
        assert len(reads) == first  # from memory

        await seed_token(hub_ctx, TAG, valid=False)  # blocked (a unit of work)
        assert await st.authorize(TAG) == "Blocked"
        await seed_token(hub_ctx, TAG, valid=True)
        assert await st.authorize(TAG) == "Accepted"

        assert await st.authorize("NEWCARD01") == "Invalid"  # unknown, kept as unknown...
        await seed_token(hub_ctx, "NEWCARD01")  # ...until a token is stored
        assert await st.authorize("NEWCARD01") == "Accepted"
