"""Operator alarms: raise and clear with de-duplication, acknowledge, list.

Kinds: ``offline`` (hub scheduler), ``faulted`` and ``reset_failed`` (the OCPP health monitor),
``firmware_failed`` and ``security_event`` (from the stations' notifications). At most one
ACTIVE alarm exists per (kind, subject): raising it again only counts (``count``,
``last_raised_at``); clearing ends it, and the next raise opens a new alarm. A new alarm is
e-mailed through the outbox (kind ``alarm_email``, subject = alarm id), written in the same
transaction, so a mail server that is down delays the e-mail but never loses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import outbox
from hub.db.models import AlarmRow, OcppStationOpsRow, SecurityEventRow
from hub.domain import NotFound

log = structlog.get_logger("hub.alarms")

OFFLINE, FAULTED, RESET_FAILED = "offline", "faulted", "reset_failed"
FIRMWARE_FAILED, SECURITY_EVENT = "firmware_failed", "security_event"
KINDS = (OFFLINE, FAULTED, RESET_FAILED, FIRMWARE_FAILED, SECURITY_EVENT)
ACTIVE, CLEARED = "ACTIVE", "CLEARED"
EMAIL_KIND = "alarm_email"

# OCPP 1.6 section 7.25 FirmwareStatus (+ the security extension's signed-firmware values).
FIRMWARE_FAILURES = ("DownloadFailed", "InstallationFailed", "InstallVerificationFailed",
                     "InvalidSignature", "SignatureVerificationFailed")
FIRMWARE_OK = ("Installed",)


def _key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"


async def active_alarm(session: AsyncSession, kind: str, subject: str) -> AlarmRow | None:
    return (await session.scalars(
        select(AlarmRow).where(AlarmRow.active_key == _key(kind, subject)))).first()


async def raise_alarm(
    session: AsyncSession, kind: str, subject: str, *, message: str, now: datetime,
    station_id: str | None = None, details: dict[str, Any] | None = None, email: bool = False,
) -> tuple[AlarmRow, bool]:
    """The active alarm for (kind, subject) and whether it is new (only new ones are mailed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown alarm kind {kind!r}")
    row = await active_alarm(session, kind, subject)
    if row is None:
        row = AlarmRow(kind=kind, subject=subject, station_id=station_id,
                       active_key=_key(kind, subject), status=ACTIVE, message=message,
                       details=details or {}, count=1, raised_at=now, last_raised_at=now)
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:  # another unit of work raised it first: count on that one
            winner = await active_alarm(session, kind, subject)
            assert winner is not None
            row = winner
        else:
            if email:
                outbox.enqueue(session, EMAIL_KIND, str(row.id), partner_id=None, now=now)
            log.warning("alarm.raised", kind=kind, subject=subject, alarm_id=row.id)
            return row, True
    row.count += 1
    row.last_raised_at, row.message = now, message
    if details:
        row.details = {**(row.details or {}), **details}
    return row, False


async def clear_alarm(session: AsyncSession, kind: str, subject: str, now: datetime) -> bool:
    row = await active_alarm(session, kind, subject)
    if row is None:
        return False
    row.status, row.active_key, row.cleared_at = CLEARED, None, now
    log.info("alarm.cleared", kind=kind, subject=subject, alarm_id=row.id)
    return True


async def acknowledge(session: AsyncSession, alarm_id: int, now: datetime) -> AlarmRow:
    row = await session.get(AlarmRow, alarm_id)
    if row is None:
        raise NotFound(f"unknown alarm {alarm_id}")
    if row.acknowledged_at is None:
        row.acknowledged_at = now
    return row


async def list_alarms(
    session: AsyncSession, *, status: str | None = None, kind: str | None = None,
    station_id: str | None = None, limit: int = 100,
) -> list[AlarmRow]:
    stmt = select(AlarmRow).order_by(AlarmRow.id.desc()).limit(min(limit, 1000))
    if status:
        stmt = stmt.where(AlarmRow.status == status.upper())
    if kind:
        stmt = stmt.where(AlarmRow.kind == kind)
    if station_id:
        stmt = stmt.where(AlarmRow.station_id == station_id)
    return list((await session.scalars(stmt)).all())


def alarm_json(row: AlarmRow) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "subject": row.subject, "station_id": row.station_id,
        "status": row.status, "message": row.message, "details": row.details,
        "count": row.count, "raised_at": row.raised_at, "last_raised_at": row.last_raised_at,
        "cleared_at": row.cleared_at, "acknowledged_at": row.acknowledged_at,
    }


# -- alarms from what stations reported (tables written by the OCPP handlers) -----------------


async def security_event_alarms(
    session: AsyncSession, *, after_id: int | None, received_since: datetime,
    ignored: list[str], now: datetime, email: bool,
) -> int | None:
    """Raise ``security_event`` for SecurityEventNotifications stored after ``after_id`` (the
    first time: received since ``received_since``); returns the new watermark."""
    stmt = select(SecurityEventRow).order_by(SecurityEventRow.id).limit(1000)
    if after_id is None:
        stmt = stmt.where(SecurityEventRow.received_at >= received_since)
    else:
        stmt = stmt.where(SecurityEventRow.id > after_id)
    for ev in (await session.scalars(stmt)).all():
        after_id = ev.id
        if ev.type in ignored:
            continue
        await raise_alarm(session, SECURITY_EVENT, ev.station_id, station_id=ev.station_id,
                          message=f"security event {ev.type}", now=now, email=email,
                          details={"type": ev.type, "event_id": ev.id,
                                   "timestamp": ev.timestamp.isoformat()})
    return after_id


async def firmware_alarms(
    session: AsyncSession, *, since: datetime | None, now: datetime, email: bool,
) -> None:
    """``firmware_failed`` for stations whose last FirmwareStatusNotification (after ``since``)
    is a failure; cleared once one reports Installed."""
    stmt = select(OcppStationOpsRow).where(
        OcppStationOpsRow.firmware_status.in_(FIRMWARE_FAILURES + FIRMWARE_OK))
    if since is not None:
        stmt = stmt.where(OcppStationOpsRow.firmware_status_at > since)
    for ops in (await session.scalars(stmt)).all():
        if ops.firmware_status in FIRMWARE_OK:
            await clear_alarm(session, FIRMWARE_FAILED, ops.station_id, now)
            continue
        await raise_alarm(session, FIRMWARE_FAILED, ops.station_id, station_id=ops.station_id,
                          message=f"firmware update failed: {ops.firmware_status}", now=now,
                          email=email, details={"status": ops.firmware_status})
