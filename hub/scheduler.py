"""Periodic jobs (APScheduler, in-process). Each job is a small async function over the context.

Scale-out note (ARCHITECTURE.md): with several replicas each job will take a PostgreSQL
advisory lock first; with one process that is not needed yet.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import AlarmRow, StationRow
from hub.services import alarms, charging

log = structlog.get_logger("hub.scheduler")


async def sweep_offline_stations(ctx: HubContext) -> int:
    """Stations silent for 2 x heartbeat interval + grace are offline (PROTOCOL_NOTES, OCPP):
    marked so, with an ``offline`` alarm; the alarm clears once the station is back."""
    s = ctx.settings.ocpp
    now = ctx.clock()
    cutoff = now - timedelta(seconds=2 * s.heartbeat_interval + s.offline_grace_seconds)
    email = ctx.settings.smtp.host is not None
    async with transaction(ctx.sessionmaker) as session:
        alarmed = select(AlarmRow.subject).where(AlarmRow.kind == alarms.OFFLINE,
                                                 AlarmRow.status == alarms.ACTIVE)
        silent = (await session.execute(
            select(StationRow.id, StationRow.last_seen_at).where(
                StationRow.last_seen_at < cutoff, StationRow.id.not_in(alarmed))
        )).all()
        result = await session.execute(
            update(StationRow)
            .where(StationRow.connected.is_(True), StationRow.last_seen_at < cutoff)
            .values(connected=False)
        )
        for station_id, last_seen in silent:
            await alarms.raise_alarm(
                session, alarms.OFFLINE, station_id, station_id=station_id, now=now,
                message=f"station silent since {last_seen}", email=email)
        back = (await session.scalars(select(AlarmRow).join(
            StationRow, StationRow.id == AlarmRow.station_id).where(
            AlarmRow.kind == alarms.OFFLINE, AlarmRow.status == alarms.ACTIVE,
            StationRow.connected.is_(True), StationRow.last_seen_at >= cutoff))).all()
        for alarm in back:
            await alarms.clear_alarm(session, alarms.OFFLINE, alarm.subject, now)
    ctx.outbox_written()
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("stations.marked_offline", count=count)
    return count


async def sweep_stale_transactions(ctx: HubContext) -> list[int]:
    """Transactions without a message for ``HUB_MONITORING__STALE_TRANSACTION_HOURS`` are
    closed with the flag ``stale_closed`` and a CDR from the last meter value."""
    now = ctx.clock()
    silent_since = now - timedelta(hours=ctx.settings.monitoring.stale_transaction_hours)
    async with transaction(ctx.sessionmaker) as session:
        closed = await charging.close_stale_transactions(
            session, silent_since=silent_since, pricer=ctx.pricer, now=now)
    if closed:
        ctx.outbox_written()
        log.warning("sessions.stale_closed", count=len(closed))
    return closed


def build_scheduler(ctx: HubContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(sweep_offline_stations, "interval", seconds=60, args=[ctx],
                      id="sweep_offline_stations", coalesce=True, max_instances=1)
    scheduler.add_job(sweep_stale_transactions, "interval", args=[ctx],
                      seconds=ctx.settings.monitoring.stale_sweep_interval_seconds,
                      id="sweep_stale_transactions", coalesce=True, max_instances=1)
    return scheduler
