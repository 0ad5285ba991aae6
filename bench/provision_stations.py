"""Register N stations in the hub's database before a load run (bench/ocpp_load.py).

A real network's stations are known to the central system before they connect: the operator
registers them (admin API, `hub` CLI) and a restart or a morning reconnect storm brings back
stations the hub already has. The load run measures that storm and the sessions that follow,
not the one-off registration of a station it has never seen (`HUB_OCPP__AUTO_REGISTER`, kept on
as a fall-back), which is one more unit of work per station and invalidates the station caches
while the storm runs.

  python bench/provision_stations.py PREFIX N     (database from the HUB_* environment)
Stations PREFIX-0 .. PREFIX-(N-1), no password, no location (as auto-registration makes them).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from sqlalchemy import insert

from hub.cli.common import settings_from_env
from hub.db.base import make_engine
from hub.db.models import StationRow

CHUNK = 1000


async def provision(prefix: str, n: int) -> None:
    engine = make_engine(settings_from_env())
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            for start in range(0, n, CHUNK):
                await conn.execute(insert(StationRow), [
                    {"id": f"{prefix}-{i}", "created_at": now}
                    for i in range(start, min(n, start + CHUNK))])
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(provision(sys.argv[1], int(sys.argv[2])))
