"""The admin API's station commands for OCPP 2.0.1 (and 2.1) stations.

``commands_for(ctx, station_id)`` picks the adapter by the station's live connection:
``StationCommands`` (OCPP 1.6, cpo_core.commands) or ``StationCommands201`` here, which has
the same methods, arguments and error types and answers with the station's reply (camelCase)
plus, where the 1.6 API promised them, the same convenience fields (``status``, ``listVersion``,
``requestId``, ``reservationId``, ``configurationKey``...). Mapping (docs/ocpp.md, "2.0.1
operations"; OCPP 2.0.1 Part 2 use cases in brackets):

- remote start -> RequestStartTransaction with a ``remoteStartId`` (F01/F02), connector -> EVSE;
  remote stop -> RequestStopTransaction (F03), a session pk -> its ``transactionId``;
- unlock -> UnlockConnector(evse, connector 1) (F05); reset Soft/Hard -> OnIdle/Immediate (B11);
- configuration -> GetVariables / SetVariables (B06/B05), keys per cpo_core.v201_variables;
  without keys GetBaseReport(ConfigurationInventory) and the NotifyReports it causes (B07);
- trigger (F06; 1.6 names DiagnosticsStatusNotification / SignChargePointCertificate are
  translated), data transfer (P01), local list (D01/D02), reservations (H01/H02), charging
  profiles (K01, K10, K08), firmware UpdateFirmware (L01), diagnostics GetLog (N01) with the
  hub's one-time upload location (cpo_core.uploads).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import call as call16
from ocpp.v201 import call
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from cpo_core import uploads
from cpo_core.base import format_timestamp
from cpo_core.commands import (
    StationCallError,
    StationCommands,
    StationNotConnected,
    StationTimeout,
    answer_json,
    check_outbound,
)
from cpo_core.handlers.operations import station_ops
from cpo_core.v201_commands import central_token
from cpo_core.v201_variables import (
    configuration_from_report,
    configuration_from_results,
    parse_key,
)
from cpo_core.vend import connection, is_201
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, OcppUploadRow, RemoteStartRow
from hub.domain import InvalidInput
from hub.services import tokens

if TYPE_CHECKING:
    from cpo_core.v201 import StationConnection201

T = TypeVar("T")
Answer = dict[str, Any]

RESET_TYPES = {"Soft": "OnIdle", "Hard": "Immediate"}  # B11/B12
# OCPP 1.6 TriggerMessage names -> 2.0.1 MessageTriggerEnumType.
TRIGGER_NAMES = {"DiagnosticsStatusNotification": "LogStatusNotification",
                 "SignChargePointCertificate": "SignChargingStationCertificate"}
# hub.domain TokenInfo.type (OCPI TokenType) -> 2.0.1 IdTokenEnumType.
ID_TOKEN_TYPES = {"RFID": "ISO14443"}
MAX_ID_TOKEN = 36  # IdTokenType.idToken is identifierString(36)


def commands_for(ctx: HubContext, station_id: str) -> StationCommands:
    """The command adapter for the station's live connection (1.6 if it is not connected, so
    the usual 404/409 follow)."""
    conn = connection(ctx, station_id)
    if conn is not None and is_201(conn):
        return StationCommands201(ctx)
    return StationCommands(ctx)


async def guarded(station_id: str, action: str, work: Awaitable[T]) -> T:
    """Library errors -> our domain errors, as ``StationCommands.send`` does."""
    try:
        return await work
    except TimeoutError as exc:
        raise StationTimeout(f"station {station_id} did not answer {action} in time") from exc
    except OCPPError as exc:
        raise StationCallError(exc.code, str(exc.description)) from exc
    except ConnectionClosed as exc:
        raise StationNotConnected(f"station {station_id} disconnected") from exc


class StationCommands201(StationCommands):
    versions = ("2.0.1", "2.1")

    async def connection201(self, station_id: str) -> StationConnection201:
        return cast("StationConnection201", await self.station(station_id))

    # -- F01-F03 remote start/stop, F05 unlock, B11 reset ---------------------------------------

    async def remote_start(self, station_id: str, id_tag: str, connector_id: int | None = None,
                           charging_profile: dict[str, Any] | None = None) -> Answer:
        conn = await self.connection201(station_id)
        await check_outbound("RequestStartTransaction", call.RequestStartTransaction(
            id_token=central_token(id_tag), remote_start_id=1, evse_id=connector_id,
            charging_profile=charging_profile), conn._ocpp_version)
        res = await guarded(station_id, "RequestStartTransaction", conn.request_start_transaction(
            id_tag, connector_id, charging_profile=charging_profile))
        async with self.ctx.sessionmaker() as session:
            row_id = (await session.scalars(select(RemoteStartRow.id).where(
                RemoteStartRow.station_id == station_id,
                RemoteStartRow.remote_start_id == res.remote_start_id))).one()
        answer: Answer = {"status": res.status, "requestId": row_id,
                          "remoteStartId": res.remote_start_id}
        if res.transaction_ref is not None:
            answer["transactionId"] = res.transaction_ref
        return answer

    async def remote_stop(self, station_id: str, transaction_id: int | str) -> Answer:
        """``transaction_id``: our session id (an int, as listed by /admin/sessions) or the
        station's own transactionId; anything else is sent as is (the station refuses it)."""
        ref = str(transaction_id)
        if isinstance(transaction_id, int):
            async with self.ctx.sessionmaker() as session:
                row = await session.get(ChargingSessionRow, transaction_id)
            if row is not None and row.station_id == station_id and row.ocpp_transaction_ref:
                ref = row.ocpp_transaction_ref
        return await self.send(station_id, call.RequestStopTransaction(transaction_id=ref))

    async def unlock(self, station_id: str, connector_id: int) -> Answer:
        return await self.send(station_id, call.UnlockConnector(evse_id=connector_id,
                                                                connector_id=1))

    async def reset(self, station_id: str, kind: str) -> Answer:
        if kind not in RESET_TYPES:
            raise InvalidInput("reset type is Soft or Hard")
        return await self.send(station_id, call.Reset(type=RESET_TYPES[kind]))

    # -- B05-B07 variables ----------------------------------------------------------------------

    async def get_configuration(self, station_id: str, keys: list[str] | None = None
                                ) -> Answer:
        if not keys:
            return await self._configuration_report(station_id)
        data = [dict(zip(("component", "variable"), parse_key(k), strict=True)) for k in keys]
        answer = await self.send(station_id, call.GetVariables(get_variable_data=data))
        known, unknown = configuration_from_results(
            camel_to_snake_case(answer.get("getVariableResult") or []))
        return {**answer, "configurationKey": known, "unknownKey": unknown}

    async def _configuration_report(self, station_id: str) -> Answer:
        conn = await self.connection201(station_id)
        request_id = secrets.randbelow(2**31 - 2) + 1
        waiter = conn.expect_report(request_id)
        try:
            answer = await self.send(station_id, call.GetBaseReport(
                request_id=request_id, report_base="ConfigurationInventory"))
            if answer.get("status") != "Accepted":
                return {**answer, "requestId": request_id, "configurationKey": []}
            async with asyncio.timeout(self.ctx.settings.ocpp.call_timeout):
                report = await waiter
        except TimeoutError as exc:
            raise StationTimeout(f"station {station_id} sent no complete report") from exc
        finally:
            conn.report_waiters.pop(request_id, None)
        return {**answer, "requestId": request_id,
                "configurationKey": configuration_from_report(report)}

    async def change_configuration(self, station_id: str, key: str, value: str) -> Answer:
        component, variable = parse_key(key)
        answer = await self.send(station_id, call.SetVariables(set_variable_data=[{
            "component": component, "variable": variable, "attribute_value": value}]))
        results = answer.get("setVariableResult") or [{}]
        return {**answer, "status": results[0].get("attributeStatus")}

    # -- P01 data transfer, F06 trigger ----------------------------------------------------------

    async def data_transfer(self, station_id: str, vendor_id: str, message_id: str | None = None,
                            data: str | None = None) -> Answer:
        return await self.send(station_id, call.DataTransfer(
            vendor_id=vendor_id, message_id=message_id, data=data))

    async def trigger(self, station_id: str, requested_message: str,
                      connector_id: int | None = None) -> Answer:
        return await self.send(station_id, call.TriggerMessage(
            requested_message=TRIGGER_NAMES.get(requested_message, requested_message),
            evse={"id": connector_id} if connector_id else None))

    # -- D01/D02 local list (sync_local_list is StationCommands') -------------------------------

    async def local_list_version(self, station_id: str) -> Answer:
        answer = await self.send(station_id, call.GetLocalListVersion())
        async with transaction(self.ctx.sessionmaker) as session:
            ops = await station_ops(session, station_id)
            ops.local_list_version = int(answer["versionNumber"])
        return {**answer, "listVersion": int(answer["versionNumber"])}

    async def _local_list(self) -> list[dict[str, Any]]:
        async with self.ctx.sessionmaker() as session:
            own = await tokens.list_own_tokens(session)
        return [{"id_token": {"id_token": t.uid, "type": ID_TOKEN_TYPES.get(t.type, "Central")},
                 "id_token_info": {"status": "Accepted" if t.valid else "Blocked"}}
                for t in own if len(t.uid) <= MAX_ID_TOKEN]

    async def _send_list(self, station_id: str, version: int, entries: list[dict[str, Any]]
                         ) -> Answer:
        return await self.send(station_id, call.SendLocalList(
            version_number=version, update_type="Full",
            local_authorization_list=entries or None))

    # -- H01/H02 reservations (reserve/cancel_reservation are StationCommands') ----------------

    def _reserve_now(self, reservation_id: int, connector_id: int, id_tag: str,
                     expiry_date: datetime, parent_id_tag: str | None) -> Any:
        return call.ReserveNow(
            id=reservation_id, expiry_date_time=format_timestamp(expiry_date),
            id_token=central_token(id_tag), evse_id=connector_id or None,
            group_id_token=central_token(parent_id_tag) if parent_id_tag else None)

    def _cancel_reservation(self, reservation_id: int) -> Any:
        return call.CancelReservation(reservation_id=reservation_id)

    # -- K01/K10/K08 smart charging messages ----------------------------------------------------

    async def set_charging_profile(self, station_id: str, connector_id: int,
                                   profile: dict[str, Any]) -> Answer:
        return await self.send(station_id, call.SetChargingProfile(
            evse_id=connector_id, charging_profile=profile))

    async def clear_charging_profile(self, station_id: str, profile_id: int | None = None,
                                     connector_id: int | None = None,
                                     purpose: str | None = None,
                                     stack_level: int | None = None) -> Answer:
        criteria = {k: v for k, v in {"evse_id": connector_id, "charging_profile_purpose": purpose,
                                      "stack_level": stack_level}.items() if v is not None}
        return await self.send(station_id, call.ClearChargingProfile(
            charging_profile_id=profile_id, charging_profile_criteria=criteria or None))

    async def composite_schedule(self, station_id: str, connector_id: int, duration: int,
                                 unit: str | None = None) -> Answer:
        return await self.send(station_id, call.GetCompositeSchedule(
            duration=duration, evse_id=connector_id, charging_rate_unit=unit))

    # -- L01 firmware, N01 logs -----------------------------------------------------------------

    async def update_firmware(self, station_id: str, request_id: int, location: str,
                              retrieve_date: str, retries: int | None = None,
                              retry_interval: int | None = None) -> Answer:
        return await self.send(station_id, call.UpdateFirmware(
            request_id=request_id, retries=retries, retry_interval=retry_interval,
            firmware={"location": location, "retrieve_date_time": retrieve_date}))

    async def get_log(self, station_id: str, *, start_time: datetime | None = None,
                      stop_time: datetime | None = None, retries: int | None = None,
                      retry_interval: int | None = None) -> Answer:
        """GetLog (DiagnosticsLog) with a one-time upload location; ``requestId`` =
        ``uploadId``, so LogStatusNotifications name the upload."""
        await self.station(station_id)
        token, upload_id = await _upload_slot(self.ctx, station_id)
        log: dict[str, Any] = {"remote_location": f"{self.ctx.settings.public_url}"
                                                  f"/ocpp-uploads/{token}"}
        if start_time is not None:
            log["oldest_timestamp"] = format_timestamp(start_time)
        if stop_time is not None:
            log["latest_timestamp"] = format_timestamp(stop_time)
        answer: Answer = {}
        try:
            answer = await self.send(station_id, call.GetLog(
                log=log, log_type="DiagnosticsLog", request_id=upload_id, retries=retries,
                retry_interval=retry_interval))
        finally:
            await _settle_slot(self.ctx, upload_id, answer)
        return {**answer, "uploadId": upload_id, "requestId": upload_id}


async def _upload_slot(ctx: HubContext, station_id: str) -> tuple[str, int]:
    token = secrets.token_urlsafe(24)
    now = ctx.clock()
    async with transaction(ctx.sessionmaker) as session:
        row = OcppUploadRow(token_hash=uploads.token_hash(token), station_id=station_id,
                            kind="log", status="Waiting", created_at=now,
                            expires_at=now + uploads.UPLOAD_TTL)
        session.add(row)
        await session.flush()
        return token, row.id


async def _settle_slot(ctx: HubContext, upload_id: int, answer: Answer) -> None:
    async with transaction(ctx.sessionmaker) as session:
        stored = await session.get(OcppUploadRow, upload_id)
        if stored is None or stored.status != "Waiting":
            return
        stored.station_file_name = answer.get("filename")
        if not answer:
            stored.status = "Failed"
        elif answer.get("status") not in ("Accepted", "AcceptedCanceled"):
            stored.status = "Rejected"


# -- version dispatch for the admin API and firmware campaigns --------------------------------

async def request_diagnostics(ctx: HubContext, station_id: str, *,
                              start_time: datetime | None = None,
                              stop_time: datetime | None = None, retries: int | None = None,
                              retry_interval: int | None = None) -> Answer:
    """GetDiagnostics (1.6) or GetLog (2.0.1/2.1), both with the hub's upload location."""
    commands = commands_for(ctx, station_id)
    if isinstance(commands, StationCommands201):
        return await commands.get_log(station_id, start_time=start_time, stop_time=stop_time,
                                      retries=retries, retry_interval=retry_interval)
    return await uploads.request_diagnostics(ctx, station_id, start_time=start_time,
                                             stop_time=stop_time, retries=retries,
                                             retry_interval=retry_interval)


async def send_update_firmware(ctx: HubContext, station_id: str,
                               payload: call16.UpdateFirmware, request_id: int) -> Answer:
    """A campaign's UpdateFirmware in the station's version (``requestId`` = campaign id)."""
    commands = commands_for(ctx, station_id)
    if isinstance(commands, StationCommands201):
        return await commands.update_firmware(
            station_id, request_id, payload.location, payload.retrieve_date, payload.retries,
            payload.retry_interval)
    return await commands.send(station_id, payload)


async def remote_starts(ctx: HubContext, station_id: str | None = None) -> list[Answer]:
    """1.6 and 2.0.1 remote start requests, newest first."""
    rows: list[Answer] = [{**r, "ocpp_version": "1.6"}
                          for r in await StationCommands(ctx).remote_starts(station_id)]
    async with ctx.sessionmaker() as session:
        stmt = select(RemoteStartRow, ChargingSessionRow.session_id).outerjoin(
            ChargingSessionRow, ChargingSessionRow.id == RemoteStartRow.session_pk,
        ).order_by(RemoteStartRow.id.desc()).limit(500)
        if station_id:
            stmt = stmt.where(RemoteStartRow.station_id == station_id)
        found = (await session.execute(stmt)).all()
    rows += [{
        "id": r.id, "station_id": r.station_id, "connector_id": r.evse_id,
        "id_tag": "****" + r.id_token[-4:], "status": r.status, "requested_at": r.requested_at,
        "session_id": session_id, "transaction_id": r.session_pk, "linked_at": r.started_at,
        "remote_start_id": r.remote_start_id, "transaction_ref": r.transaction_ref,
        "ocpp_version": "2.0.1",
    } for r, session_id in found]
    rows.sort(key=lambda r: r["requested_at"], reverse=True)
    return rows


__all__ = ["StationCommands201", "answer_json", "commands_for", "remote_starts",
           "request_diagnostics", "send_update_firmware"]
