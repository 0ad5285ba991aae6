"""Register N stations in the hub's database before a load run (bench/ocpp_load.py).

A real network's stations are known to the central system before they connect: the operator
registers them (admin API, `hub` CLI) and a restart or a morning reconnect storm brings back
stations the hub already has. The load run measures that storm and the sessions that follow,
not the one-off registration of a station it has never seen (`HUB_OCPP__AUTO_REGISTER`, kept on
as a fall-back), which is one more unit of work per station and invalidates the station caches
while the storm runs.

  python bench/provision_stations.py PREFIX N [--tokens]   (database from HUB_* environment)
Stations PREFIX-0 .. PREFIX-(N-1), no password, no location (as auto-registration makes them).
With ``--tokens``, also one token of the demo network's own eMSP per station (``token_uid``):
each station's driver then has a card of their own, read once by the hub.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from sqlalchemy import insert, select

from hub.cli.common import settings_from_env
from hub.db.base import make_engine
from hub.db.models import PartyRow, StationRow, TokenRow

CHUNK = 1000


def token_uid(i: int) -> str:
    """Station i's driver's card (``--tokens``)."""
    return f"LVBT{i:010d}"


async def provision(prefix: str, n: int, tokens: bool = False) -> None:
    engine = make_engine(settings_from_env())
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            for start in range(0, n, CHUNK):
                await conn.execute(insert(StationRow), [
                    {"id": f"{prefix}-{i}", "created_at": now}
                    for i in range(start, min(n, start + CHUNK))])
            if not tokens:
                return
            emsp = (await conn.execute(select(PartyRow.id).where(
                PartyRow.country_code == "LV", PartyRow.party_id == "BIE",
                PartyRow.role == "EMSP"))).scalar_one()  # hub db seed-demo
            for start in range(0, n, CHUNK):
                await conn.execute(insert(TokenRow), [
                    {"party_pk": emsp, "uid": token_uid(i), "type": "RFID",
                     "contract_id": f"LV-BIE-B{i:010d}", "issuer": "bench", "valid": True,
                     "whitelist": "ALLOWED", "last_updated": now}
                    for i in range(start, min(n, start + CHUNK))])
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(provision(sys.argv[1], int(sys.argv[2]), "--tokens" in sys.argv[3:]))
