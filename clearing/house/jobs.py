"""Entry points for the CLI, the admin API and the scheduler: run, close, import a bank
statement. The scheduled close (``close_due_periods``) closes every open period that ended at
least ``clearing.close_grace_days`` days ago; it is safe to run hourly or daily (a period is
closed once; the next run finds nothing to do).

Register it on the APScheduler in hub/app.py (the kernel's scheduler may not import clearing):

    scheduler.add_job(close_due_periods, "cron", hour=2, minute=15, args=[ctx],
                      id="clearing-close", coalesce=True, max_instances=1)
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select

from clearing.house.close import CloseResult, close_month
from clearing.house.integrity import IntegrityReport, verify
from clearing.house.periods import OPEN, label_of, local_date
from clearing.house.run import Progress, RunResult, run_clearing
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models_clearing import SettlementPeriodRow

log = structlog.get_logger("clearing.house.jobs")


async def run_period(ctx: HubContext, period: str, *, batch_size: int = 2000,
                     progress: Progress | None = None) -> RunResult:
    return await run_clearing(ctx.sessionmaker, period=period,
                              zone=ctx.settings.clearing.timezone, now=ctx.clock(),
                              batch_size=batch_size, progress=progress)


async def close_period_label(ctx: HubContext, period: str, *, batch_size: int = 2000,
                             progress: Progress | None = None) -> tuple[RunResult, CloseResult]:
    """Run the period (so every CDR that ended in it is in), then close its open periods."""
    ran = await run_period(ctx, period, batch_size=batch_size, progress=progress)
    closed = await close_month(ctx.sessionmaker, period, now=ctx.clock(),
                               zone=ctx.settings.clearing.timezone)
    return ran, closed


async def verify_period(ctx: HubContext, period: str | None) -> IntegrityReport:
    """``integrity.verify`` on the rows of the periods labelled ``period`` (None: all)."""
    async with transaction(ctx.sessionmaker) as session:
        pks = None
        if period is not None:
            pks = list((await session.scalars(select(SettlementPeriodRow.id).where(
                SettlementPeriodRow.label == period))).all())
        return await verify(session, pks)


async def close_due_periods(ctx: HubContext) -> list[str]:
    """The scheduled close: every OPEN period whose end + grace days has passed."""
    now = ctx.clock()
    today = local_date(now, ctx.settings.clearing.timezone)
    due_before = today - timedelta(days=ctx.settings.clearing.close_grace_days)
    async with transaction(ctx.sessionmaker) as session:
        starts = (await session.scalars(select(SettlementPeriodRow.start).where(
            SettlementPeriodRow.status == OPEN, SettlementPeriodRow.end <= due_before)
            .distinct().order_by(SettlementPeriodRow.start))).all()
    labels = list(dict.fromkeys(label_of(s) for s in starts))
    for label in labels:
        _, closed = await close_period_label(ctx, label)
        log.info("clearing.scheduled_close", period=label, **closed.json())
    return labels
