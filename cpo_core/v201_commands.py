"""CSMS -> station commands of OCPP 2.0.1: thin wrappers over ``call`` (Part 2 sections named
per method). Never call them from inside an ``@on`` handler (the library deadlocks): use
``after_reply`` or a task. Payload fields are snake_case dicts (the library camel-cases them);
a CallError raises ``OCPPError`` (``suppress=False`` in cpo_core.base).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from ocpp.v201 import call
from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import RemoteStartRow

log = structlog.get_logger("cpo_core.v201")

IdToken = dict[str, Any]
CENTRAL = "Central"  # IdTokenEnumType: a token the CSMS vouches for


@dataclass(frozen=True, slots=True)
class RemoteStart:
    """The station's answer to RequestStartTransaction (F01/F02)."""

    remote_start_id: int
    status: str  # Accepted | Rejected
    transaction_ref: str | None  # set when a transaction was already running (F02)


def central_token(id_token: str, kind: str = CENTRAL) -> IdToken:
    """IdTokenType (OCPP 2.0.1 Part 2 section 2, IdTokenType / IdTokenEnumType)."""
    return {"id_token": id_token, "type": kind}


class Commands201:
    """Mixin of ``cpo_core.v201.StationConnection201``."""

    id: str
    ctx: HubContext
    remote_start_waiters: dict[int, asyncio.Future[int]]

    if TYPE_CHECKING:  # provided by cpo_core.base.OcppFixes
        async def call(self, payload: Any, suppress: bool = False, unique_id: str | None = None,
                       skip_schema_validation: bool = False) -> Any: ...

    # -- F01/F02 remote start, F03 remote stop ------------------------------------------------

    async def request_start_transaction(self, id_token: str, evse_id: int | None = None,
                                        remote_start_id: int | None = None, *,
                                        kind: str = CENTRAL,
                                        charging_profile: dict[str, Any] | None = None
                                        ) -> RemoteStart:
        """Recorded before it is sent, so the TransactionEvent with this remoteStartId is tied
        to the request even if it overtakes the answer or comes after a reconnect."""
        rsid = remote_start_id if remote_start_id is not None else secrets.randbelow(2**31 - 2) + 1
        async with transaction(self.ctx.sessionmaker) as session:
            session.add(RemoteStartRow(station_id=self.id, remote_start_id=rsid,
                                       evse_id=evse_id, id_token=id_token, status="Requested",
                                       requested_at=self.ctx.clock()))
        self.remote_start_waiters[rsid] = asyncio.get_running_loop().create_future()
        try:
            res = await self.call(call.RequestStartTransaction(
                id_token=central_token(id_token, kind), remote_start_id=rsid,
                evse_id=evse_id, charging_profile=charging_profile))
        except Exception:
            await self._remote_start_answered(rsid, "Failed")
            raise
        await self._remote_start_answered(rsid, str(res.status))
        log.info("ocpp.remote_start", station=self.id, remote_start_id=rsid, status=res.status)
        return RemoteStart(rsid, str(res.status), res.transaction_id)

    async def _remote_start_answered(self, remote_start_id: int, status: str) -> None:
        async with transaction(self.ctx.sessionmaker) as session:
            row = (await session.scalars(select(RemoteStartRow).where(
                RemoteStartRow.station_id == self.id,
                RemoteStartRow.remote_start_id == remote_start_id))).one()
            if row.status == "Requested":  # never overwrite "Started"
                row.status = status
        if status != "Accepted":
            waiter = self.remote_start_waiters.pop(remote_start_id, None)
            if waiter is not None and not waiter.done():
                waiter.cancel()

    async def wait_remote_start(self, remote_start_id: int) -> int:
        """The pk of the session that the accepted remote start led to (wrap the await in
        ``asyncio.timeout``); CancelledError if the station did not accept it."""
        waiter = self.remote_start_waiters[remote_start_id]
        try:
            return await asyncio.shield(waiter)
        finally:
            if waiter.done():
                self.remote_start_waiters.pop(remote_start_id, None)

    async def request_stop_transaction(self, transaction_id: str) -> Any:
        return await self.call(call.RequestStopTransaction(transaction_id=transaction_id))

    # -- B06/B07 variables and reports, B11/B12 reset -------------------------------------------

    async def get_variables(self, data: list[dict[str, Any]]) -> Any:
        """``data``: GetVariableDataType, e.g. ``{"component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "HeartbeatInterval"}}``."""
        return await self.call(call.GetVariables(get_variable_data=data))

    async def set_variables(self, data: list[dict[str, Any]]) -> Any:
        return await self.call(call.SetVariables(set_variable_data=data))

    async def get_base_report(self, request_id: int, report_base: str = "FullInventory") -> Any:
        return await self.call(call.GetBaseReport(request_id=request_id, report_base=report_base))

    async def reset(self, type: str = "OnIdle", evse_id: int | None = None) -> Any:
        return await self.call(call.Reset(type=type, evse_id=evse_id))

    # -- F05 unlock, F06 trigger, H01/H02 reservations, D01 local list --------------------------

    async def unlock_connector(self, evse_id: int, connector_id: int) -> Any:
        return await self.call(call.UnlockConnector(evse_id=evse_id, connector_id=connector_id))

    async def trigger_message(self, requested_message: str,
                              evse: dict[str, Any] | None = None) -> Any:
        return await self.call(call.TriggerMessage(requested_message=requested_message,
                                                   evse=evse))

    async def reserve_now(self, reservation_id: int, expiry_date_time: str, id_token: str,
                          evse_id: int | None = None, *, kind: str = CENTRAL) -> Any:
        return await self.call(call.ReserveNow(
            id=reservation_id, expiry_date_time=expiry_date_time,
            id_token=central_token(id_token, kind), evse_id=evse_id))

    async def cancel_reservation(self, reservation_id: int) -> Any:
        return await self.call(call.CancelReservation(reservation_id=reservation_id))

    async def send_local_list(self, version_number: int, update_type: str,
                              entries: list[dict[str, Any]] | None = None) -> Any:
        """``entries``: AuthorizationData, ``{"id_token": {...}, "id_token_info": {...}}``."""
        return await self.call(call.SendLocalList(
            version_number=version_number, update_type=update_type,
            local_authorization_list=entries))

    # -- L01 firmware, N01 logs, K01 smart charging ---------------------------------------------

    async def update_firmware(self, request_id: int, location: str, retrieve_date_time: str,
                              *, retries: int | None = None,
                              retry_interval: int | None = None,
                              signature: str | None = None,
                              signing_certificate: str | None = None) -> Any:
        firmware = {"location": location, "retrieve_date_time": retrieve_date_time,
                    "signature": signature, "signing_certificate": signing_certificate}
        return await self.call(call.UpdateFirmware(
            request_id=request_id, retries=retries, retry_interval=retry_interval,
            firmware={k: v for k, v in firmware.items() if v is not None}))

    async def get_log(self, request_id: int, remote_location: str,
                      log_type: str = "DiagnosticsLog", **log_parameters: Any) -> Any:
        return await self.call(call.GetLog(
            request_id=request_id, log_type=log_type,
            log={"remote_location": remote_location, **log_parameters}))

    async def set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> Any:
        """``charging_profile``: ChargingProfileType; limits as int or str, never Decimal."""
        return await self.call(call.SetChargingProfile(evse_id=evse_id,
                                                       charging_profile=charging_profile))
