"""OCPP 2.0.1 TransactionEvent (Part 2 E01-E15, F01-F02) mapped onto hub.services.charging.

- A transaction is named by the station's string ``transactionId``; our session row keeps it in
  ``ocpp_transaction_ref``. Started/Updated/Ended are applied in one unit of work each.
- Idempotent: a (transactionId, seqNo) already handled on this connection is only answered;
  after a reconnect a retransmitted Started finds its row by reference, meter values already
  stored are skipped and an Ended finds the session COMPLETED.
- A transaction may start before authorization (TxStartPoint EVConnected/PowerPathClosed): the
  session is created by the first event that carries an idToken (or a remoteStartId we know),
  with the start time and meter register of the first event. A transaction that ends without
  ever being authorized is logged and not billed.
- meterStart / meterStop are the Energy.Active.Import.Register values of the event (context
  Transaction.Begin / Transaction.End preferred). Missing -> taken from later values / the
  last stored value, and the session is flagged (hub.services.charging).
- remoteStartId (F01/F02) ties the transaction to our RequestStartTransaction
  (``ocpp_remote_starts``) and wakes whoever awaits it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action, AuthorizationStatusEnumType
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpo_core.base import parse_timestamp
from cpo_core.handlers.operations import stations_waiting, use_reservation
from hub.context import HubContext
from hub.db.models import ChargingSessionRow, RemoteStartRow
from hub.domain import AllowedType, AuthorizationResult, NotFound
from hub.services import charging
from hub.services.charging import MeterSample
from hub.services.records import link_ocpi_reservation

log = structlog.get_logger("cpo_core.v201")

ENERGY = "Energy.Active.Import.Register"
MAX_SEQ_NOS = 1000  # per transaction, per connection

# OCPP 2.0.1 Part 2 section 3 AuthorizationStatusEnumType from our verdict (OCPI AllowedType).
ID_TOKEN_STATUS = {
    AllowedType.ALLOWED: AuthorizationStatusEnumType.accepted,
    AllowedType.BLOCKED: AuthorizationStatusEnumType.blocked,
    AllowedType.EXPIRED: AuthorizationStatusEnumType.expired,
    AllowedType.NO_CREDIT: AuthorizationStatusEnumType.no_credit,
}


def id_token_info(result: AuthorizationResult) -> dict[str, Any]:
    """IdTokenInfoType: nobody knows the token -> Unknown; known but refused -> Invalid."""
    status = ID_TOKEN_STATUS.get(result.allowed)
    if status is None:
        status = (AuthorizationStatusEnumType.unknown if result.source == "unknown"
                  else AuthorizationStatusEnumType.invalid)
    return {"status": status.value}


def _number(value: Any) -> Decimal:
    """A JSON number as the station wrote it (floats via their shortest repr, never binary)."""
    if isinstance(value, bool):
        return Decimal("NaN")
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return Decimal("NaN")


def meter_samples_201(meter_values: list[dict[str, Any]], station_id: str) -> list[MeterSample]:
    """OCPP 2.0.1 MeterValueType list -> samples (value x 10^multiplier in the unit given)."""
    samples = []
    for mv in meter_values:
        ts = parse_timestamp(mv["timestamp"], "meterValue.timestamp", station_id=station_id)
        for sv in mv.get("sampled_value", []):
            unit = sv.get("unit_of_measure") or {}
            value = _number(sv.get("value"))
            if not value.is_finite():
                log.warning("ocpp.meter_value.unusable", station=station_id)
                continue
            samples.append(MeterSample(
                timestamp=ts, measurand=sv.get("measurand", ENERGY),
                value=value.scaleb(int(unit.get("multiplier", 0))),
                unit=unit.get("unit", "Wh"), phase=sv.get("phase"),
                context=sv.get("context", "Sample.Periodic")))
    return samples


def register_wh(samples: list[MeterSample], context: str, *, last: bool) -> Decimal | None:
    """The energy register in Wh: the value with ``context`` if any, else the first/last one."""
    registers = [(s.context, wh) for s in samples
                 if s.phase is None and (wh := s.energy_wh()) is not None]
    for ctx_name, wh in registers:
        if ctx_name == context:
            return wh
    if not registers:
        return None
    return registers[-1][1] if last else registers[0][1]


class TransactionEvents201:
    """Mixin of ``cpo_core.v201.StationConnection201``."""

    id: str
    ctx: HubContext
    remote_start_waiters: dict[int, asyncio.Future[int]]
    seen_seq_nos: dict[str, set[int]]
    pending_transactions: dict[str, tuple[datetime, int, Any]]
    _unit: Callable[[], AbstractAsyncContextManager[AsyncSession]]
    _ts: Callable[[str, str], datetime]
    _verdict: Callable[[str], Awaitable[AuthorizationResult]]
    fix_samples: Callable[[list[MeterSample]], list[MeterSample]]

    def _mark_handled(self, ref: str, seq_no: int) -> None:
        """Only after the event is stored: a failed event must be applied when it is resent."""
        seen = self.seen_seq_nos.setdefault(ref, set())
        if len(seen) >= MAX_SEQ_NOS:
            seen.clear()
        seen.add(seq_no)

    @on(Action.transaction_event)
    async def on_transaction_event(self, event_type: str, timestamp: str, trigger_reason: str,
                                   seq_no: int, transaction_info: dict[str, Any],
                                   **kw: Any) -> call_result.TransactionEvent:
        ts = self._ts(timestamp, "timestamp")
        ref = transaction_info["transaction_id"]
        samples = self.fix_samples(meter_samples_201(kw.get("meter_value") or [], self.id))
        remote_start_id = transaction_info.get("remote_start_id")
        token = (kw.get("id_token") or {}).get("id_token")
        if not token and remote_start_id is not None:
            token = await self._remote_start_token(remote_start_id)
        result: AuthorizationResult | None = await self._verdict(token) if token else None
        if seq_no in self.seen_seq_nos.get(ref, ()):
            log.info("ocpp.transaction_event.retransmitted", station=self.id, seq_no=seq_no)
        else:
            evse = (kw.get("evse") or {}).get("id")
            session_pk = await self._apply_event(event_type, ref, ts, evse, token, result,
                                                 samples, transaction_info)
            if session_pk is not None and remote_start_id is not None:
                await self._remote_started(remote_start_id, ref, session_pk)
            if session_pk is not None and kw.get("reservation_id") is not None:
                async with self._unit() as session:  # H01: the reservation is used
                    await use_reservation(session, self.id, int(kw["reservation_id"]),
                                          self.ctx.clock())
            self._mark_handled(ref, seq_no)
        log.info("ocpp.transaction_event", station=self.id, event_type=event_type, seq_no=seq_no,
                 trigger=trigger_reason)
        if kw.get("id_token") and result is not None:
            return call_result.TransactionEvent(id_token_info=id_token_info(result))
        return call_result.TransactionEvent()

    async def _apply_event(self, event_type: str, ref: str, ts: datetime, evse: int | None,
                           token: str | None, result: AuthorizationResult | None,
                           samples: list[MeterSample], info: dict[str, Any]) -> int | None:
        """Persist one event; the session pk, or None while the transaction is unauthorized."""
        async with self._unit() as session:
            row = await charging.session_for_ref(session, self.id, ref)
            if row is None and token is not None and result is not None:
                row = await self._start(session, ref, ts, evse, token, result, samples)
                if self.id in (await stations_waiting(session)).ocpi_reservations:
                    await link_ocpi_reservation(session, row)  # issue 5: RESERVE_NOW used
            if row is None:
                self._remember_unauthorized(event_type, ref, ts, evse, samples)
                return None
            await charging.add_meter_values_ref(session, station_id=self.id,
                                                transaction_ref=ref, samples=samples,
                                                now=self.ctx.clock())
            if event_type == "Ended":
                await self._stop(session, ref, ts, samples, info.get("stopped_reason"))
            self.pending_transactions.pop(ref, None)
            return row.id

    async def _start(self, session: AsyncSession, ref: str, ts: datetime, evse: int | None,
                     token: str, result: AuthorizationResult,
                     samples: list[MeterSample]) -> ChargingSessionRow:
        start, first_evse, meter_start = self.pending_transactions.get(
            ref, (ts, evse, register_wh(samples, "Transaction.Begin", last=False)))
        return await charging.start_transaction_ref(
            session, station_id=self.id, transaction_ref=ref, connector=first_evse or evse or 0,
            id_tag=token, meter_start_wh=meter_start, timestamp=start, authorization=result,
            now=self.ctx.clock())

    async def _stop(self, session: AsyncSession, ref: str, ts: datetime,
                    samples: list[MeterSample], reason: str | None) -> None:
        try:
            await charging.stop_transaction_ref(
                session, station_id=self.id, transaction_ref=ref,
                meter_stop_wh=register_wh(samples, "Transaction.End", last=True), timestamp=ts,
                reason=reason, pricer=self.ctx.pricer, now=self.ctx.clock())
        except NotFound:  # pragma: no cover - the row was found in the same unit of work
            log.warning("ocpp.transaction_event.unknown_transaction", station=self.id)

    def _remember_unauthorized(self, event_type: str, ref: str, ts: datetime,
                               evse: int | None, samples: list[MeterSample]) -> None:
        if event_type == "Ended":
            self.pending_transactions.pop(ref, None)
            log.warning("ocpp.transaction_event.never_authorized", station=self.id)
            return
        if ref not in self.pending_transactions:
            self.pending_transactions[ref] = (
                ts, evse or 0, register_wh(samples, "Transaction.Begin", last=False))

    # -- remote start correlation (F01/F02 remoteStartId) --------------------------------------

    async def _remote_start_token(self, remote_start_id: int) -> str | None:
        async with self.ctx.sessionmaker() as session:
            row = (await session.scalars(select(RemoteStartRow).where(
                RemoteStartRow.station_id == self.id,
                RemoteStartRow.remote_start_id == remote_start_id))).first()
        return row.id_token if row is not None else None

    async def _remote_started(self, remote_start_id: int, ref: str, session_pk: int) -> None:
        async with self._unit() as session:
            row = (await session.scalars(select(RemoteStartRow).where(
                RemoteStartRow.station_id == self.id,
                RemoteStartRow.remote_start_id == remote_start_id))).first()
            if row is None:
                log.warning("ocpp.remote_start.unknown", station=self.id,
                            remote_start_id=remote_start_id)
                return
            if row.session_pk is None:
                row.status, row.transaction_ref, row.session_pk = "Started", ref, session_pk
                row.started_at = self.ctx.clock()
        waiter = self.remote_start_waiters.get(remote_start_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(session_pk)
