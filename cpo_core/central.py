"""The central system's side of one station connection: OCPP 1.6J CALL handlers.

Each handler parses the frame, persists through hub services in its own unit of work, tells the
outbox worker, and answers. A station's frames are handled one at a time (the library's receive
loop), so persistence here is already ordered per station. Handlers stay short: the one slow
path, a real-time authorization with an eMSP, never holds a database transaction open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cpo_core import monitoring
from cpo_core.authcache import AuthorizationCache
from cpo_core.base import OcppChargePoint, format_timestamp, parse_timestamp
from cpo_core.bootstorm import boot_gate
from cpo_core.handlers.operations import OperationHandlers16, stations_waiting
from cpo_core.handlers.security import SecurityHandlers16
from cpo_core.vend import free_vend_start
from cpo_core.vendors import VendorQuirks16
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OutboxRow
from hub.domain import AllowedType, AuthorizationResult, NotFound, PartyRef
from hub.ports import RemoteAuthorizer
from hub.services import charging, network, tokens
from hub.services.charging import MeterSample

log = structlog.get_logger("cpo_core.central")

# OCPP 1.6 section 7.2 AuthorizationStatus from our verdict (OCPI 2.2.1 mod_tokens AllowedType).
ID_TAG_STATUS = {
    AllowedType.ALLOWED: AuthorizationStatus.accepted,
    AllowedType.BLOCKED: AuthorizationStatus.blocked,
    AllowedType.EXPIRED: AuthorizationStatus.expired,
}

# OCPP 1.6 section 7.45 SampledValue defaults.
DEFAULT_MEASURAND = "Energy.Active.Import.Register"
DEFAULT_UNIT = "Wh"

# last_seen_at is not billing data: a heartbeat writes it at most this often per connection
# (and at most half a heartbeat interval apart; docs/ocpp.md "Performance"). Boot, connect,
# disconnect and an answered monitoring probe always write it.
SEEN_WRITE_INTERVAL = timedelta(seconds=30)
# Open transactions kept per connection for the MeterValues hot path (a station has one per
# connector; more means a station that never stops: the oldest are dropped, the slow path
# still finds them in the database).
MAX_OPEN_TRANSACTIONS = 16


def id_tag_info(result: AuthorizationResult) -> IdTagInfo:
    return IdTagInfo(status=ID_TAG_STATUS.get(result.allowed, AuthorizationStatus.invalid))


def _has_outbox_rows(session: AsyncSession) -> bool:
    """Did this unit enqueue outbox rows (hub.outbox.enqueue adds them to the session)?"""
    return any(isinstance(obj, OutboxRow) for obj in session.new) or any(
        isinstance(obj, OutboxRow) for obj in session.identity_map.values())


class _ReleaseSessionFirst:
    """Ends the short read transaction before the (slow) real-time call to a partner."""

    def __init__(self, remote: RemoteAuthorizer, session: AsyncSession) -> None:
        self._remote = remote
        self._session = session

    async def authorize(self, token_uid: str, token_type: str | None, location_id: str | None,
                        owner: PartyRef | None) -> AuthorizationResult | None:
        await self._session.commit()  # read-only; returns the connection to the pool
        return await self._remote.authorize(token_uid, token_type, location_id, owner)


def meter_samples(meter_values: list[dict[str, Any]], station_id: str) -> list[MeterSample]:
    """OCPP 1.6 MeterValue list -> samples; unusable values are logged and skipped."""
    samples = []
    for mv in meter_values:
        ts = parse_timestamp(mv["timestamp"], "meterValue.timestamp", station_id=station_id)
        for sv in mv.get("sampled_value", []):
            if sv.get("format") == "SignedData":
                continue  # signed meter data is kept by the station; we need the plain value
            try:
                value = Decimal(sv["value"])
            except (InvalidOperation, TypeError):
                value = Decimal("NaN")
            if not value.is_finite():
                log.warning("ocpp.meter_value.unusable", station=station_id)
                continue
            samples.append(MeterSample(
                timestamp=ts, measurand=sv.get("measurand", DEFAULT_MEASURAND), value=value,
                unit=sv.get("unit", DEFAULT_UNIT), phase=sv.get("phase"),
                context=sv.get("context")))
    return samples


class StationConnection(SecurityHandlers16, OperationHandlers16, VendorQuirks16,
                        OcppChargePoint):
    """One connected station, seen from the central system."""

    def __init__(self, station_id: str, connection: Any, ctx: HubContext,
                 auth_cache: AuthorizationCache) -> None:
        super().__init__(station_id, connection, response_timeout=ctx.settings.ocpp.call_timeout)
        self.ctx = ctx
        self.auth_cache = auth_cache
        self._seen_written: datetime | None = None
        self._open_tx: dict[int, charging.OpenTransaction] = {}

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[AsyncSession]:
        """One unit of work; after its commit the outbox worker hears of new rows (only then:
        a wake-up per unit made the worker scan the outbox after every OCPP call)."""
        async with transaction(self.ctx.sessionmaker) as session:
            yield session
            enqueued = _has_outbox_rows(session)
        if enqueued:
            self.ctx.outbox_written()

    def _ts(self, value: str, field: str) -> datetime:
        return parse_timestamp(value, field, station_id=self.id)

    async def _authorize(self, id_tag: str) -> AuthorizationResult:
        remote = self.ctx.remote_authorizer
        async with self.ctx.sessionmaker() as session:
            location_id = await self._location_id(session) if remote else None
            result = await tokens.authorize(
                session, id_tag, location_id=location_id, station_id=self.id,
                remote=_ReleaseSessionFirst(remote, session) if remote else None)
        self.auth_cache.put(self.id, id_tag, result)
        log.info("ocpp.authorize", station=self.id, id_tag=id_tag, allowed=result.allowed.value,
                 source=result.source)
        return result

    async def _location_id(self, session: AsyncSession) -> str | None:
        facts = await network.station_facts(session, self.id)  # cached (hub.db.refcache)
        return facts.location_id if facts is not None else None

    # -- core profile (OCPP 1.6 section 4) ------------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str,
                                   **kw: Any) -> call_result.BootNotification:
        now = self.ctx.clock()
        pending = boot_gate(self.ctx).admit(self.id, now)  # storm: Pending with back-off
        if pending is not None:
            return call_result.BootNotification(format_timestamp(now), pending,
                                                RegistrationStatus.pending)
        async with self.ctx.sessionmaker() as session:  # cached: no SQL
            known = await network.station_facts(session, self.id) is not None
        if not known:  # removed while connected
            return call_result.BootNotification(format_timestamp(now), 0,
                                                RegistrationStatus.rejected)
        await self.ctx.group_commit.write(network.boot_write(
            self.id, vendor=charge_point_vendor, model=charge_point_model,
            serial_number=kw.get("charge_point_serial_number")
            or kw.get("charge_box_serial_number"),
            firmware_version=kw.get("firmware_version"), ocpp_version="1.6", now=now))
        self._seen_written = now
        log.info("ocpp.boot", station=self.id, vendor=charge_point_vendor,
                 model=charge_point_model)
        monitoring.observe_alive(self.ctx, self.id)
        self.after_reply(self.push_boot_configuration)  # vendor profile keys (cpo_core.vendors)
        return call_result.BootNotification(
            current_time=format_timestamp(now),
            interval=self.ctx.settings.ocpp.heartbeat_interval,
            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        now = self.ctx.clock()
        # Never staler than half our heartbeat interval: the offline sweep and the probe
        # (docs/ocpp.md "Monitoring and recovery") wait a whole interval plus a grace.
        window = min(SEEN_WRITE_INTERVAL,
                     timedelta(seconds=self.ctx.settings.ocpp.heartbeat_interval / 2))
        if self._seen_written is None or now - self._seen_written >= window:
            await self.ctx.group_commit.write(network.seen_write(self.id, now))
            self._seen_written = now
        return call_result.Heartbeat(current_time=format_timestamp(now))

    @on(Action.status_notification)
    async def on_status_notification(self, connector_id: int, error_code: str, status: str,
                                     **kw: Any) -> call_result.StatusNotification:
        now = self.ctx.clock()
        ts = self._ts(kw["timestamp"], "timestamp") if kw.get("timestamp") else now
        free_vend = False
        async with self.ctx.sessionmaker() as session:  # reference data: cached, no SQL
            evse = await network.evse_ref(session, self.id, connector_id) \
                if connector_id > 0 else None
            if status == "Preparing" and connector_id > 0:  # free vend: start on plug-in
                facts = await network.station_facts(session, self.id)
                free_vend = facts is not None and facts.free_vend_id_tag is not None
        await self.ctx.group_commit.write(*network.status_writes(
            self.id, connector=connector_id, status=status, error_code=error_code,
            info=kw.get("info"), timestamp=ts, now=now, evse=evse))
        monitoring.observe_status(self.ctx, self.id, connector_id, status)
        if free_vend:
            self.after_reply(lambda: self._free_vend(connector_id))
        return call_result.StatusNotification()

    async def _free_vend(self, connector: int) -> None:
        await free_vend_start(self.ctx, self.id, connector)

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        result = await self._authorize(id_tag)
        return call_result.Authorize(id_tag_info=id_tag_info(result))

    @on(Action.start_transaction)
    async def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int,
                                   timestamp: str, **kw: Any) -> call_result.StartTransaction:
        ts = self._ts(timestamp, "timestamp")
        result = self.auth_cache.get(self.id, id_tag) or await self._authorize(id_tag)
        now = self.ctx.clock()
        tx = await self._start_batched(connector_id, id_tag, meter_start, ts, result, now,
                                       kw.get("reservation_id"))
        if tx is not None:
            return call_result.StartTransaction(transaction_id=tx.pk,
                                                id_tag_info=id_tag_info(result))
        async with self._unit() as session:
            row, new = await charging.start_transaction_once(
                session, station_id=self.id, connector=connector_id, id_tag=id_tag,
                meter_start_wh=Decimal(meter_start), timestamp=ts, authorization=result,
                now=now)
            if new:  # remote start and reservation, in this unit (handlers/operations.py)
                await self.link_started(session, row, connector_id, id_tag,
                                        kw.get("reservation_id"), now)
            tx = await charging.open_transaction(session, row, now)
        self._remember(tx)
        return call_result.StartTransaction(transaction_id=row.id,
                                            id_tag_info=id_tag_info(result))

    async def _start_batched(self, connector_id: int, id_tag: str, meter_start: int,
                             ts: datetime, result: AuthorizationResult, now: datetime,
                             reservation_id: Any) -> charging.OpenTransaction | None:
        """The common start - not a retransmission, no partner eMSP to tell, no remote start or
        reservation to link - as one group-committed statement: the INSERT unless a session
        with the same connector, idTag and start time exists (docs/ocpp.md "Performance");
        None: take the unit of work."""
        if reservation_id is not None:
            return None
        async with self.ctx.sessionmaker() as session:  # reference data: cached, no SQL
            waiting = await stations_waiting(session)
            if self.id in waiting.remote_starts or self.id in waiting.ocpi_reservations:
                return None
            plan = await charging.plan_start(
                session, station_id=self.id, connector=connector_id, id_tag=id_tag,
                meter_start_wh=Decimal(meter_start), timestamp=ts, authorization=result,
                now=now)
        if plan.emsp_partner_id is not None:
            return None
        [row] = await self.ctx.group_commit.write(charging.start_write(plan))
        if row is None:
            return None  # a retransmission, probably: the unit finds the row (same id)
        tx = charging.opened(plan, int(row[0]), now)
        self._remember(tx)
        log.info("session.started", station=self.id, connector=connector_id,
                 transaction_id=tx.pk, id_tag=id_tag, status=plan.values["status"])
        return tx

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]],
                              transaction_id: int | None = None) -> call_result.MeterValues:
        samples = self.fix_samples(meter_samples(meter_value, self.id))
        tx = self._open_tx.get(transaction_id) if transaction_id is not None else None
        if tx is not None:
            writes = charging.meter_writes(tx, samples, self.ctx.clock())
            if writes is not None:  # the common case: batched with other stations' writes
                await self.ctx.group_commit.write(*writes)
                return call_result.MeterValues()
            async with self._unit() as session:
                await charging.add_meter_values_open(session, tx, samples, self.ctx.clock())
            return call_result.MeterValues()
        async with self._unit() as session:
            await charging.add_meter_values(session, station_id=self.id, connector=connector_id,
                                            transaction_id=transaction_id, samples=samples,
                                            now=self.ctx.clock())
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int,
                                  **kw: Any) -> call_result.StopTransaction:
        ts = self._ts(timestamp, "timestamp")
        samples = self.fix_samples(meter_samples(kw.get("transaction_data") or [], self.id))
        tx = self._open_tx.pop(transaction_id, None)
        if not (tx is not None and tx.values is not None and tx.emsp_partner_id is None
                and not samples and await self._stop_open(tx, meter_stop, ts, kw)):
            await self._stop(transaction_id, meter_stop, ts, samples, kw)
        id_tag = kw.get("id_tag")
        if not id_tag:
            return call_result.StopTransaction()
        # Informational only: no second real-time call to the eMSP at the end of a session.
        result = self.auth_cache.get(self.id, id_tag)
        if result is None:
            async with self.ctx.sessionmaker() as session:
                result = await tokens.authorize(session, id_tag, location_id=None, remote=None)
        return call_result.StopTransaction(id_tag_info=id_tag_info(result))

    async def _stop_open(self, tx: charging.OpenTransaction, meter_stop: int, ts: datetime,
                         kw: dict[str, Any]) -> bool:
        """A session this connection started through the group commit: its stop joins the
        batches too (charging.stop_writes). False: closed meanwhile, take the full path."""
        async with self.ctx.sessionmaker() as session:  # reference data of the price: cached
            writes = await charging.stop_writes(
                session, tx, meter_stop_wh=Decimal(meter_stop), timestamp=ts,
                reason=kw.get("reason"), pricer=self.ctx.pricer, now=self.ctx.clock())
        try:
            await self.ctx.group_commit.write(*writes)
        except IntegrityError:
            log.info("ocpp.stop.closed_meanwhile", station=self.id, transaction_id=tx.pk)
            return False
        log.info("session.stopped", station=self.id, transaction_id=tx.pk,
                 meter_stop=meter_stop)
        return True

    async def _stop(self, transaction_id: int, meter_stop: int, ts: datetime,
                    samples: list[MeterSample], kw: dict[str, Any]) -> None:
        try:
            async with self._unit() as session:
                # transactionData first: the session's meter values are complete before the CDR.
                if samples:
                    await charging.add_meter_values(
                        session, station_id=self.id, connector=0,
                        transaction_id=transaction_id, samples=samples, now=self.ctx.clock())
                await charging.stop_transaction(
                    session, station_id=self.id, transaction_id=transaction_id,
                    meter_stop_wh=Decimal(meter_stop), timestamp=ts, reason=kw.get("reason"),
                    pricer=self.ctx.pricer, now=self.ctx.clock())
        except NotFound:
            # The station must get an answer or it retries forever (OCPP 1.6 section 4.10).
            log.warning("ocpp.stop.unknown_transaction", station=self.id,
                        transaction_id=transaction_id)

    def _remember(self, tx: charging.OpenTransaction) -> None:
        self._open_tx.pop(tx.pk, None)
        self._open_tx[tx.pk] = tx
        while len(self._open_tx) > MAX_OPEN_TRANSACTIONS:
            del self._open_tx[next(iter(self._open_tx))]

    # -- notifications we only acknowledge -----------------------------------------------------

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")

    # FirmwareStatusNotification, DiagnosticsStatusNotification: handlers/operations.py
    # SecurityEventNotification and the rest of the security extension: handlers/security.py
