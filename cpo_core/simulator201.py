"""A simulated OCPP 2.0.1 charging station: a real client over WebSockets (``ocpp2.0.1``).

    async with SimulatedStation201("ws://127.0.0.1:9000/ocpp", "ST-1", "secret") as st:
        await st.boot()
        transaction_id = await st.charge(1, "TAG-1", Decimal("20"))

It answers the CSMS's commands (Part 2: F01-F06, B06-B12, H01, D01, L01, N01, K01) and, on an
accepted RequestStartTransaction, starts a transaction carrying the ``remoteStartId`` once its
answer is on the wire; RequestStopTransaction ends it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any

from ocpp.routing import on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core.base import OcppChargePoint201, format_timestamp

METER_STEPS = 3  # Updated events sent during a simulated session


class ChargeRefused(Exception):
    """The CSMS did not accept the idToken (status in ``.status``)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"idToken not accepted: {status}")
        self.status = status


def _wh(kwh: Decimal | int) -> int:
    return int((Decimal(kwh) * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def _id_token(value: str, kind: str = "ISO14443") -> dict[str, str]:
    return {"id_token": value, "type": kind}


def energy_meter_value(energy_wh: int, context: str, timestamp: datetime) -> dict[str, Any]:
    """MeterValueType with one Energy.Active.Import.Register sample (a JSON number in 2.0.1)."""
    return {"timestamp": format_timestamp(timestamp), "sampled_value": [{
        "value": energy_wh, "context": context, "measurand": "Energy.Active.Import.Register",
        "unit_of_measure": {"unit": "Wh"}}]}


@dataclass
class Transaction:
    transaction_id: str
    evse: int
    id_token: str
    meter_start: int
    seq_no: int = 0
    remote_start_id: int | None = None


class _Client(OcppChargePoint201):
    """The station's protocol end: answers the CSMS's CALLs."""

    sim: SimulatedStation201

    @on(Action.request_start_transaction)
    async def on_request_start(self, id_token: dict[str, Any], remote_start_id: int,
                               **kw: Any) -> call_result.RequestStartTransaction:
        evse = kw.get("evse_id") or 1
        self.after_reply(lambda: self.sim.remote_start(evse, id_token["id_token"],
                                                       remote_start_id))
        return call_result.RequestStartTransaction(status="Accepted")

    @on(Action.request_stop_transaction)
    async def on_request_stop(self, transaction_id: str,
                              **_: Any) -> call_result.RequestStopTransaction:
        if transaction_id not in self.sim.transactions:
            return call_result.RequestStopTransaction(status="Rejected")
        self.after_reply(lambda: self.sim.end(transaction_id, "RemoteStop", "Remote"))
        return call_result.RequestStopTransaction(status="Accepted")

    @on(Action.get_variables)
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]],
                               **_: Any) -> call_result.GetVariables:
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            value = self.sim.variables.get(key)
            results.append({"attribute_status": "Accepted" if value is not None
                            else "UnknownVariable", "attribute_value": value,
                            "component": item["component"], "variable": item["variable"]})
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]],
                               **_: Any) -> call_result.SetVariables:
        for item in set_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            self.sim.variables[key] = item["attribute_value"]
        return call_result.SetVariables(set_variable_result=[
            {"attribute_status": "Accepted", "component": i["component"],
             "variable": i["variable"]} for i in set_variable_data])

    @on(Action.reset)
    async def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        self.sim.commands.append(("Reset", type))
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    async def on_unlock(self, evse_id: int, connector_id: int,
                        **_: Any) -> call_result.UnlockConnector:
        self.sim.commands.append(("UnlockConnector", f"{evse_id}/{connector_id}"))
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    async def on_trigger(self, requested_message: str, **_: Any) -> call_result.TriggerMessage:
        if requested_message == "Heartbeat":
            self.after_reply(self.sim.heartbeat_only)
            return call_result.TriggerMessage(status="Accepted")
        return call_result.TriggerMessage(status="NotImplemented")

    @on(Action.reserve_now)
    async def on_reserve(self, id: int, **_: Any) -> call_result.ReserveNow:
        self.sim.commands.append(("ReserveNow", str(id)))
        return call_result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, reservation_id: int,
                                    **_: Any) -> call_result.CancelReservation:
        self.sim.commands.append(("CancelReservation", str(reservation_id)))
        return call_result.CancelReservation(status="Accepted")

    @on(Action.send_local_list)
    async def on_send_local_list(self, version_number: int,
                                 **_: Any) -> call_result.SendLocalList:
        self.sim.commands.append(("SendLocalList", str(version_number)))
        return call_result.SendLocalList(status="Accepted")

    @on(Action.update_firmware)
    async def on_update_firmware(self, request_id: int, **_: Any) -> call_result.UpdateFirmware:
        self.sim.commands.append(("UpdateFirmware", str(request_id)))
        return call_result.UpdateFirmware(status="Accepted")

    @on(Action.get_log)
    async def on_get_log(self, request_id: int, **_: Any) -> call_result.GetLog:
        self.sim.commands.append(("GetLog", str(request_id)))
        return call_result.GetLog(status="Accepted", filename=f"log-{request_id}.zip")

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, evse_id: int,
                                      **_: Any) -> call_result.SetChargingProfile:
        self.sim.commands.append(("SetChargingProfile", str(evse_id)))
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.get_base_report)
    async def on_get_base_report(self, request_id: int, **_: Any) -> call_result.GetBaseReport:
        self.sim.commands.append(("GetBaseReport", str(request_id)))
        return call_result.GetBaseReport(status="Accepted")


class SimulatedStation201:
    def __init__(self, base_url: str, station_id: str, password: str | None = None, *,
                 vendor: str = "HubSim", model: str = "Sim-201",
                 call_timeout: float = 30) -> None:
        self.url = f"{base_url.rstrip('/')}/{station_id}"
        self.station_id = station_id
        self.password = password
        self.vendor, self.model = vendor, model
        self.call_timeout = call_timeout
        self.registers: dict[int, int] = {}  # Wh per EVSE; only grows, as a real meter's
        self.transactions: dict[str, Transaction] = {}
        self.remote_started: dict[int, Transaction] = {}  # remoteStartId -> its transaction
        self.variables: dict[tuple[str, str], str] = {
            ("OCPPCommCtrlr", "HeartbeatInterval"): "300"}
        self.commands: list[tuple[str, str]] = []  # commands received, for tests
        self._ws: ClientConnection | None = None
        self._cp: _Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SimulatedStation201:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = {}
        if self.password is not None:
            headers["Authorization"] = build_authorization_basic(self.station_id, self.password)
        self._ws = await connect(self.url, subprotocols=[Subprotocol("ocpp2.0.1")],
                                 additional_headers=headers, compression=None)
        self._cp = _Client(self.station_id, self._ws, response_timeout=self.call_timeout)
        self._cp.sim = self
        self._task = asyncio.create_task(self._receive(), name=f"sim201-{self.station_id}")

    async def _receive(self) -> None:
        assert self._cp is not None
        with contextlib.suppress(Exception):  # ends when the connection closes
            await self._cp.start()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._cp is not None:
            self._cp.cancel_follow_ups()
        self._ws = self._task = self._cp = None

    @property
    def connection(self) -> ClientConnection:
        assert self._ws is not None, "not connected"
        return self._ws

    async def call(self, payload: Any) -> Any:
        assert self._cp is not None, "not connected"
        return await self._cp.call(payload)

    # -- messages ------------------------------------------------------------------------------

    async def boot(self, reason: str = "PowerUp") -> str:
        res = await self.call(call.BootNotification(
            charging_station={"model": self.model, "vendor_name": self.vendor,
                              "serial_number": f"SN-{self.station_id}",
                              "firmware_version": "2.0.1-sim"}, reason=reason))
        return str(res.status)

    async def heartbeat(self) -> str:
        res = await self.call(call.Heartbeat())
        return str(res.current_time)

    async def heartbeat_only(self) -> None:
        await self.heartbeat()

    async def status(self, evse: int, status: str, connector: int = 1) -> None:
        await self.call(call.StatusNotification(
            timestamp=format_timestamp(datetime.now(UTC)), connector_status=status,
            evse_id=evse, connector_id=connector))

    async def authorize(self, id_token: str) -> str:
        res = await self.call(call.Authorize(id_token=_id_token(id_token)))
        return str(res.id_token_info["status"])

    async def event(self, tx: Transaction, event_type: str, trigger_reason: str,
                    meter_value: list[dict[str, Any]] | None = None, *,
                    timestamp: datetime | None = None, with_token: bool = False,
                    stopped_reason: str | None = None) -> Any:
        """One TransactionEvent; seqNo counts up per transaction."""
        info: dict[str, Any] = {"transaction_id": tx.transaction_id,
                                "charging_state": "Charging" if event_type != "Ended"
                                else "Idle"}
        if tx.remote_start_id is not None and event_type == "Started":
            info["remote_start_id"] = tx.remote_start_id
        if stopped_reason:
            info["stopped_reason"] = stopped_reason
        payload = call.TransactionEvent(
            event_type=event_type, timestamp=format_timestamp(timestamp or datetime.now(UTC)),
            trigger_reason=trigger_reason, seq_no=tx.seq_no, transaction_info=info,
            meter_value=meter_value, evse={"id": tx.evse, "connector_id": 1},
            id_token=_id_token(tx.id_token) if with_token else None)
        tx.seq_no += 1
        return await self.call(payload)

    async def start(self, evse: int, id_token: str, timestamp: datetime | None = None,
                    remote_start_id: int | None = None) -> tuple[Transaction, str]:
        """TransactionEvent Started with the Transaction.Begin register; (tx, idToken status)."""
        ts = timestamp or datetime.now(UTC)
        tx = Transaction(str(uuid.uuid4()), evse, id_token, self.registers.get(evse, 0),
                         remote_start_id=remote_start_id)
        self.transactions[tx.transaction_id] = tx
        if remote_start_id is not None:
            self.remote_started[remote_start_id] = tx
        res = await self.event(tx, "Started", "RemoteStart" if remote_start_id else "Authorized",
                               [energy_meter_value(tx.meter_start, "Transaction.Begin", ts)],
                               timestamp=ts, with_token=True)
        return tx, str(res.id_token_info["status"])

    async def update(self, tx: Transaction, energy_wh: int,
                     timestamp: datetime | None = None) -> None:
        ts = timestamp or datetime.now(UTC)
        await self.event(tx, "Updated", "MeterValuePeriodic",
                         [energy_meter_value(energy_wh, "Sample.Periodic", ts)], timestamp=ts)

    async def end(self, transaction_id: str, trigger_reason: str = "StopAuthorized",
                  stopped_reason: str = "Local", energy_wh: int | None = None,
                  timestamp: datetime | None = None) -> None:
        tx = self.transactions.pop(transaction_id)
        ts = timestamp or datetime.now(UTC)
        register = energy_wh if energy_wh is not None else self.registers.get(tx.evse,
                                                                                tx.meter_start)
        self.registers[tx.evse] = register
        await self.event(tx, "Ended", trigger_reason,
                         [energy_meter_value(register, "Transaction.End", ts)], timestamp=ts,
                         stopped_reason=stopped_reason)

    async def remote_start(self, evse: int, id_token: str, remote_start_id: int) -> None:
        """F01: what a station does after accepting RequestStartTransaction."""
        await self.start(evse, id_token, remote_start_id=remote_start_id)

    async def charge(self, evse: int, id_token: str, kwh: Decimal | int,
                     duration: timedelta = timedelta(minutes=30)) -> str:
        """A whole session (E01-E07 with authorization first); the transactionId.

        Timestamps span ``duration`` ending now, so the session has a realistic length.
        """
        end = datetime.now(UTC)
        begin = end - duration
        meter_start = self.registers.get(evse, 0)
        energy = _wh(kwh)
        await self.status(evse, "Occupied")
        status = await self.authorize(id_token)
        if status != "Accepted":
            await self.status(evse, "Available")
            raise ChargeRefused(status)
        tx, status = await self.start(evse, id_token, begin)
        for step in range(1, METER_STEPS + 1):
            await self.update(tx, meter_start + energy * step // (METER_STEPS + 1),
                              begin + duration * step / (METER_STEPS + 1))
        await self.end(tx.transaction_id, energy_wh=meter_start + energy, timestamp=end)
        await self.status(evse, "Available")
        return tx.transaction_id
