"""Periodic jobs (APScheduler, in-process). Each job is a small async function over the context.

Scale-out note (ARCHITECTURE.md): with several replicas each job will take a PostgreSQL
advisory lock first; with one process that is not needed yet.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import update

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import StationRow

log = structlog.get_logger("hub.scheduler")


async def sweep_offline_stations(ctx: HubContext) -> int:
    """Stations silent for 2 x heartbeat interval + grace are offline (PROTOCOL_NOTES, OCPP)."""
    s = ctx.settings.ocpp
    cutoff = ctx.clock() - timedelta(seconds=2 * s.heartbeat_interval + s.offline_grace_seconds)
    async with transaction(ctx.sessionmaker) as session:
        result = await session.execute(
            update(StationRow)
            .where(StationRow.connected.is_(True), StationRow.last_seen_at < cutoff)
            .values(connected=False)
        )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("stations.marked_offline", count=count)
    return count


def build_scheduler(ctx: HubContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(sweep_offline_stations, "interval", seconds=60, args=[ctx],
                      id="sweep_offline_stations", coalesce=True, max_instances=1)
    return scheduler
