"""OCPP 1.6 handlers of the Firmware, Local Auth List, Reservation, Remote Trigger and Smart
Charging profiles (inbound messages; outbound commands live in ``cpo_core.commands``).

Station -> central system messages of these profiles are FirmwareStatusNotification and
DiagnosticsStatusNotification (OCPP 1.6 sections 6.48 and 6.46); both update the station's
operations state and, for firmware, the station's row in the campaign it belongs to.

Remote start correlation (OCPP 1.6 has no id linking a RemoteStartTransaction to the
StartTransaction that follows; PROTOCOL_NOTES, OCPP): in the StartTransaction's own unit of work,
the newest un-linked remote start request for the same station, connector (or any connector if
the request named none) and idTag (case-insensitive) sent within ``REMOTE_START_WINDOW`` gets the
session. A StartTransaction naming a ``reservationId`` marks that reservation Used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.changes import track
from hub.db.models import (
    ChargingSessionRow,
    OcppFirmwareTargetRow,
    OcppRemoteStartRow,
    OcppReservationRow,
    OcppStationOpsRow,
)
from hub.db.models_ocpi_commands import OcpiReservationRow
from hub.db.refcache import cached
from hub.services.records import link_ocpi_reservation

log = structlog.get_logger("cpo_core.operations")

REMOTE_START_WINDOW = timedelta(seconds=120)
# Remote start requests still waiting for their StartTransaction.
OPEN_REMOTE_START = ("Sent", "Accepted")
# OCPP 1.6 section 7.25 FirmwareStatus values after which a campaign target is settled.
FIRMWARE_FINAL = ("Installed", "InstallationFailed", "DownloadFailed")
FIRMWARE_OPEN = ("Sent", "Downloading", "Downloaded", "Installing", "Idle")


async def station_ops(session: AsyncSession, station_id: str) -> OcppStationOpsRow:
    """The station's operations row, created on first use."""
    row = await session.get(OcppStationOpsRow, station_id)
    if row is None:
        row = OcppStationOpsRow(station_id=station_id)
        session.add(row)
        await session.flush()
    return row


async def record_firmware_status(session: AsyncSession, station_id: str, status: str,
                                 now: datetime) -> None:
    ops = await station_ops(session, station_id)
    ops.firmware_status, ops.firmware_status_at = status, now
    target = (await session.scalars(
        select(OcppFirmwareTargetRow)
        .where(OcppFirmwareTargetRow.station_id == station_id,
               OcppFirmwareTargetRow.status.in_(FIRMWARE_OPEN))
        .order_by(OcppFirmwareTargetRow.id.desc()).limit(1))).first()
    if target is not None and not (status == "Idle" and target.status == "Sent"):
        target.status, target.updated_at = status, now


async def record_diagnostics_status(session: AsyncSession, station_id: str, status: str,
                                    now: datetime) -> None:
    ops = await station_ops(session, station_id)
    ops.diagnostics_status, ops.diagnostics_status_at = status, now


async def link_remote_start(session: AsyncSession, station_id: str, connector_id: int,
                            id_tag: str, started: datetime, now: datetime) -> str | None:
    """Links the session begun at ``started`` to its remote start request; its session id."""
    tx = (await session.scalars(
        select(ChargingSessionRow)
        .where(ChargingSessionRow.station_id == station_id,
               ChargingSessionRow.ocpp_connector_id == connector_id,
               ChargingSessionRow.start_date_time == started)
        .order_by(ChargingSessionRow.id.desc()).limit(1))).first()
    if tx is None:
        return None
    already = (await session.scalars(select(OcppRemoteStartRow.id).where(
        OcppRemoteStartRow.session_pk == tx.id))).first()
    if already is not None:  # a retransmitted StartTransaction
        return None
    return await link_remote_start_row(session, station_id, tx, connector_id, id_tag, now)


async def link_remote_start_row(session: AsyncSession, station_id: str,
                                tx: ChargingSessionRow, connector_id: int, id_tag: str,
                                now: datetime) -> str | None:
    """``link_remote_start`` for a session known to be new (not linked yet): one query."""
    request = (await session.scalars(
        select(OcppRemoteStartRow)
        .where(OcppRemoteStartRow.station_id == station_id,
               OcppRemoteStartRow.session_pk.is_(None),
               OcppRemoteStartRow.status.in_(OPEN_REMOTE_START),
               func.lower(OcppRemoteStartRow.id_tag) == id_tag.lower(),
               or_(OcppRemoteStartRow.connector_id.is_(None),
                   OcppRemoteStartRow.connector_id == connector_id),
               OcppRemoteStartRow.requested_at >= now - REMOTE_START_WINDOW)
        .order_by(OcppRemoteStartRow.requested_at.desc(), OcppRemoteStartRow.id.desc())
        .limit(1))).first()
    if request is None:
        return None
    request.session_pk, request.session_id, request.linked_at = tx.id, tx.session_id, now
    if request.connector_id is None:
        request.connector_id = connector_id
    return tx.session_id


@dataclass(frozen=True, slots=True)
class Waiting:
    """Stations with a remote start request or an OCPI reservation waiting for a session."""

    remote_starts: frozenset[str]
    ocpi_reservations: frozenset[str]


_WAITING_TABLES = (OcppRemoteStartRow.__tablename__, OcpiReservationRow.__tablename__)
track(_WAITING_TABLES)  # other processes' writes reach this process's cache (hub.db.changes)


async def stations_waiting(session: AsyncSession) -> Waiting:
    """Read on every StartTransaction, changed only by remote starts and reservations: cached
    (hub.db.refcache), so a start on a station nobody waits for costs no query for them."""
    async def load() -> Waiting:
        remote = (await session.scalars(select(OcppRemoteStartRow.station_id).where(
            OcppRemoteStartRow.session_pk.is_(None),
            OcppRemoteStartRow.status.in_(OPEN_REMOTE_START)).distinct())).all()
        reserved = (await session.scalars(select(OcpiReservationRow.station_id).where(
            or_(OcpiReservationRow.status == "RESERVED",
                OcpiReservationRow.session_pk.is_(None))).distinct())).all()
        return Waiting(frozenset(remote), frozenset(reserved))
    return await cached(session, "stations_waiting", _WAITING_TABLES, load)


async def use_reservation(session: AsyncSession, station_id: str, reservation_id: int,
                          now: datetime) -> None:
    row = await session.get(OcppReservationRow, reservation_id)
    if row is not None and row.station_id == station_id:
        row.status, row.updated_at = "Used", now


class OperationHandlers16:
    """Mixin of ``cpo_core.central.StationConnection``."""

    id: str
    ctx: HubContext

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, status: str, **_: Any
                                 ) -> call_result.FirmwareStatusNotification:
        async with transaction(self.ctx.sessionmaker) as session:
            await record_firmware_status(session, self.id, status, self.ctx.clock())
        log.info("ocpp.firmware_status", station=self.id, status=status)
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(self, status: str, **_: Any
                                    ) -> call_result.DiagnosticsStatusNotification:
        async with transaction(self.ctx.sessionmaker) as session:
            await record_diagnostics_status(session, self.id, status, self.ctx.clock())
        log.info("ocpp.diagnostics_status", station=self.id, status=status)
        return call_result.DiagnosticsStatusNotification()

    async def link_started(self, session: AsyncSession, tx: ChargingSessionRow,
                           connector_id: int, id_tag: str, reservation_id: Any,
                           now: datetime) -> None:
        """In the StartTransaction's own unit of work (committed before the reply): the new
        session's remote start request and reservation (docs/ocpp.md "Performance")."""
        waiting = await stations_waiting(session)  # cached: no query on most starts
        session_id = None
        if self.id in waiting.remote_starts:
            session_id = await link_remote_start_row(session, self.id, tx, connector_id, id_tag,
                                                     now)
        if reservation_id is not None:
            await use_reservation(session, self.id, int(reservation_id), now)
        if self.id in waiting.ocpi_reservations:
            await link_ocpi_reservation(session, tx)  # issue 5: an OCPI RESERVE_NOW is used
        if session_id is not None:
            log.info("ocpp.remote_start.linked", station=self.id, connector=connector_id,
                     session_id=session_id)
