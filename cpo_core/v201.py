"""The CSMS side of one OCPP 2.0.1 station connection (subprotocol ``ocpp2.0.1``).

Same contract as the 1.6 ``StationConnection`` (cpo_core.central): each handler parses the
frame, persists through hub services in its own unit of work and answers; the trap fixes come
from ``OcppChargePoint201`` (cpo_core.base). Transactions are in ``cpo_core.v201_transactions``,
acknowledged notifications in ``cpo_core.v201_notifications`` and CSMS -> station commands in
``cpo_core.v201_commands``.

Mapping: 2.0.1 EVSE ``n`` is our EVSE with ``ocpp_connector_id == n`` (one connector per EVSE
in our network model); the 2.0.1 connectorId is kept in the status history.
Section references: OCPP 2.0.1 Part 2 (Specification), e.g. B01 (cold boot), C01 (Authorize),
G01 (StatusNotification).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action, RegistrationStatusEnumType
from sqlalchemy.ext.asyncio import AsyncSession

from cpo_core import monitoring
from cpo_core.authcache import AuthorizationCache
from cpo_core.base import OcppChargePoint201, format_timestamp, parse_timestamp
from cpo_core.bootstorm import boot_gate
from cpo_core.central import _ReleaseSessionFirst
from cpo_core.v201_commands import Commands201
from cpo_core.v201_notifications import Notifications201
from cpo_core.v201_security import SecurityHandlers201
from cpo_core.v201_transactions import TransactionEvents201, id_token_info
from cpo_core.v201_vendor import VendorQuirks201
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import LocationRow, StationRow
from hub.domain import AuthorizationResult, NotFound
from hub.services import network, tokens

log = structlog.get_logger("cpo_core.v201")

__all__ = ["StationConnection201", "id_token_info"]

class StationConnection201(TransactionEvents201, Notifications201, SecurityHandlers201,
                           VendorQuirks201, Commands201, OcppChargePoint201):
    """One connected OCPP 2.0.1 station, seen from the CSMS."""

    def __init__(self, station_id: str, connection: Any, ctx: HubContext,
                 auth_cache: AuthorizationCache) -> None:
        super().__init__(station_id, connection, response_timeout=ctx.settings.ocpp.call_timeout)
        self.ctx = ctx
        self.auth_cache = auth_cache
        # remoteStartId -> a future resolved with the session pk once its transaction starts.
        self.remote_start_waiters: dict[int, asyncio.Future[int]] = {}
        # transactionId -> seqNos handled on this connection (retransmission fast path).
        self.seen_seq_nos: dict[str, set[int]] = {}
        # transactionId -> (start time, evse, meter start) of a transaction not yet authorized.
        self.pending_transactions: dict[str, tuple[datetime, int, Any]] = {}
        self.firmware_status: str | None = None
        self.log_status: str | None = None
        self.reports: dict[int, list[dict[str, Any]]] = {}
        self.report_waiters: dict[int, asyncio.Future[list[dict[str, Any]]]] = {}

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[AsyncSession]:
        """One unit of work; after its commit the outbox worker hears of new rows."""
        async with transaction(self.ctx.sessionmaker) as session:
            yield session
        self.ctx.outbox_written()

    def _ts(self, value: str, field: str) -> datetime:
        return parse_timestamp(value, field, station_id=self.id)

    async def _authorize(self, id_token: str) -> AuthorizationResult:
        remote = self.ctx.remote_authorizer
        async with self.ctx.sessionmaker() as session:
            location_id = None
            station = await session.get(StationRow, self.id)
            if station is not None and station.location_pk is not None:
                location = await session.get(LocationRow, station.location_pk)
                location_id = location.location_id if location else None
            result = await tokens.authorize(
                session, id_token, location_id=location_id, station_id=self.id,
                remote=_ReleaseSessionFirst(remote, session) if remote else None)
        self.auth_cache.put(self.id, id_token, result)
        log.info("ocpp.authorize", station=self.id, id_tag=id_token,
                 allowed=result.allowed.value, source=result.source)
        return result

    async def _verdict(self, id_token: str) -> AuthorizationResult:
        return self.auth_cache.get(self.id, id_token) or await self._authorize(id_token)

    # -- B01 BootNotification, B05 Heartbeat --------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(self, charging_station: dict[str, Any], reason: str,
                                   **_: Any) -> call_result.BootNotification:
        now = self.ctx.clock()
        pending = boot_gate(self.ctx).admit(self.id, now)  # storm: Pending with back-off
        if pending is not None:
            return call_result.BootNotification(
                current_time=format_timestamp(now), interval=pending,
                status=RegistrationStatusEnumType.pending)
        try:
            async with self._unit() as session:
                await network.record_boot(
                    session, self.id, vendor=charging_station["vendor_name"],
                    model=charging_station["model"],
                    serial_number=charging_station.get("serial_number"),
                    firmware_version=charging_station.get("firmware_version"),
                    ocpp_version=self._ocpp_version, now=now)
        except NotFound:  # removed while connected
            return call_result.BootNotification(
                current_time=format_timestamp(now), interval=0,
                status=RegistrationStatusEnumType.rejected)
        log.info("ocpp.boot", station=self.id, vendor=charging_station["vendor_name"],
                 model=charging_station["model"], reason=reason)
        monitoring.observe_alive(self.ctx, self.id)
        self.after_reply(self.push_boot_variables)  # vendor profile (cpo_core.v201_vendor)
        return call_result.BootNotification(
            current_time=format_timestamp(now),
            interval=self.ctx.settings.ocpp.heartbeat_interval,
            status=RegistrationStatusEnumType.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        now = self.ctx.clock()
        async with self._unit() as session:
            await network.mark_seen(session, self.id, now)
        return call_result.Heartbeat(current_time=format_timestamp(now))

    # -- G01 StatusNotification, C01 Authorize, J01 MeterValues --------------------------------

    @on(Action.status_notification)
    async def on_status_notification(self, timestamp: str, connector_status: str, evse_id: int,
                                     connector_id: int, **_: Any
                                     ) -> call_result.StatusNotification:
        now = self.ctx.clock()
        ts = self._ts(timestamp, "timestamp")
        async with self._unit() as session:
            await network.record_status(
                session, self.id, connector=evse_id, status=connector_status, error_code=None,
                info=f"connectorId={connector_id}", timestamp=ts, now=now)
        monitoring.observe_status(self.ctx, self.id, evse_id, connector_status)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        result = await self._authorize(id_token["id_token"])
        return call_result.Authorize(id_token_info=id_token_info(result))

    @on(Action.meter_values)
    async def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]],
                              **_: Any) -> call_result.MeterValues:
        # J01: MeterValues outside a transaction (transaction values come in TransactionEvent).
        for mv in meter_value:
            self._ts(mv["timestamp"], "meterValue.timestamp")
        log.debug("ocpp.meter_values.station", station=self.id, evse=evse_id,
                  samples=sum(len(mv.get("sampled_value", [])) for mv in meter_value))
        return call_result.MeterValues()

    # -- P01 DataTransfer -----------------------------------------------------------------------

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        log.info("ocpp.data_transfer", station=self.id, vendor_id=vendor_id[:255])
        return call_result.DataTransfer(status="UnknownVendorId")
