"""The simulated station's side of central-system-initiated OCPP 1.6 calls (tests and demos).

``SimulatedChargePoint`` answers every CALL a central system may send to a 1.6 station and, as
a real station would, follows up once its answer is on the wire: a remote start starts a
transaction, UpdateFirmware reports its progress, GetDiagnostics uploads a small file to the
given location over HTTP and reports the outcome, TriggerMessage sends the message asked for.
State that outlives a connection (configuration, local list, reservations, profiles) lives in
``StationState`` on the ``SimulatedStation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from cpo_core.base import OcppChargePoint

if TYPE_CHECKING:
    from cpo_core.simulator import SimulatedStation

log = structlog.get_logger("cpo_core.simulator")

READ_ONLY = "read-only"


def _default_configuration() -> dict[str, str]:
    return {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60",
            "AuthorizeRemoteTxRequests": "false", "LocalAuthListEnabled": "true",
            "NumberOfConnectors": READ_ONLY + ":2"}


@dataclass
class StationState:
    configuration: dict[str, str] = field(default_factory=_default_configuration)
    local_list_version: int = 0
    local_list: dict[str, dict[str, Any]] = field(default_factory=dict)
    reservations: dict[int, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    active: dict[int, tuple[int, str]] = field(default_factory=dict)  # connector -> (tx, tag)
    resets: list[str] = field(default_factory=list)
    unlocked: list[int] = field(default_factory=list)
    firmware_outcome: str = "Installed"  # or DownloadFailed / InstallationFailed
    diagnostics: bytes = b"simulated diagnostics\n"
    uploads: list[str] = field(default_factory=list)  # "Uploaded" / "UploadFailed"
    upload_multipart: bool = False  # POST multipart/form-data instead of PUT to location/name
    diagnostics_locations: list[str] = field(default_factory=list)

    def config_value(self, key: str) -> tuple[str, bool]:
        value = self.configuration[key]
        if value.startswith(READ_ONLY + ":"):
            return value[len(READ_ONLY) + 1:], True
        return value, False


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class SimulatedChargePoint(OcppChargePoint):
    def __init__(self, station: SimulatedStation, connection: Any, *,
                 response_timeout: float = 30) -> None:
        super().__init__(station.station_id, connection, response_timeout=response_timeout)
        self.station = station
        self.state = station.state

    # -- core ----------------------------------------------------------------------------------

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, connector_id: int | None = None,
                              **_: Any) -> call_result.RemoteStartTransaction:
        connector = connector_id or 1
        if connector in self.state.active:
            return call_result.RemoteStartTransaction(status="Rejected")

        async def start() -> None:
            await self.station.status(connector, "Preparing")
            await self.station.start_transaction(connector, id_tag,
                                                 self.station.registers.get(connector, 0))
            await self.station.status(connector, "Charging")

        self.after_reply(start)
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        found = [(c, tag) for c, (tx, tag) in self.state.active.items() if tx == transaction_id]
        if not found:
            return call_result.RemoteStopTransaction(status="Rejected")
        connector, id_tag = found[0]

        async def stop() -> None:
            register = self.station.registers.get(connector, 0) + 1000  # 1 kWh charged
            self.station.registers[connector] = register
            await self.station.stop_transaction(transaction_id, register, id_tag,
                                                reason="Remote")
            await self.station.status(connector, "Finishing")

        self.after_reply(stop)
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.unlock_connector)
    async def on_unlock(self, connector_id: int) -> call_result.UnlockConnector:
        self.state.unlocked.append(connector_id)
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        self.state.resets.append(type)
        self.after_reply(self._reboot)
        return call_result.Reset(status="Accepted")

    async def _reboot(self) -> None:
        await self.station.boot()

    @on(Action.get_configuration)
    async def on_get_configuration(self, key: list[str] | None = None
                                   ) -> call_result.GetConfiguration:
        keys = key or list(self.state.configuration)
        known = [k for k in keys if k in self.state.configuration]
        entries = []
        for k in known:
            value, readonly = self.state.config_value(k)
            entries.append({"key": k, "readonly": readonly, "value": value})
        unknown = [k for k in keys if k not in self.state.configuration]
        return call_result.GetConfiguration(configuration_key=entries,
                                            unknown_key=unknown or None)

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str
                                      ) -> call_result.ChangeConfiguration:
        if key not in self.state.configuration:
            return call_result.ChangeConfiguration(status="NotSupported")
        if self.state.config_value(key)[1]:
            return call_result.ChangeConfiguration(status="Rejected")
        self.state.configuration[key] = value
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, data: str | None = None,
                               **_: Any) -> call_result.DataTransfer:
        if vendor_id != self.station.vendor:
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=data)

    # -- remote trigger ------------------------------------------------------------------------

    @on(Action.trigger_message)
    async def on_trigger(self, requested_message: str, connector_id: int | None = None
                         ) -> call_result.TriggerMessage:
        connector = connector_id or 1
        follow_ups: dict[str, Any] = {
            "BootNotification": self.station.boot,
            "Heartbeat": self.station.heartbeat,
            "StatusNotification": lambda: self.station.status(
                connector, "Charging" if connector in self.state.active else "Available"),
            "MeterValues": lambda: self.station.meter_values(
                connector, self.state.active.get(connector, (None, ""))[0],
                self.station.registers.get(connector, 0)),
            "DiagnosticsStatusNotification": lambda: self.station.call(
                call.DiagnosticsStatusNotification(status="Idle")),
            "FirmwareStatusNotification": lambda: self.station.call(
                call.FirmwareStatusNotification(status="Idle")),
        }
        if requested_message not in follow_ups:
            return call_result.TriggerMessage(status="NotImplemented")
        self.after_reply(follow_ups[requested_message])
        return call_result.TriggerMessage(status="Accepted")

    # -- local auth list -----------------------------------------------------------------------

    @on(Action.send_local_list)
    async def on_send_local_list(self, list_version: int, update_type: str,
                                 local_authorization_list: list[dict[str, Any]] | None = None
                                 ) -> call_result.SendLocalList:
        entries = local_authorization_list or []
        if update_type == "Differential":
            if list_version <= self.state.local_list_version:
                return call_result.SendLocalList(status="VersionMismatch")
        else:
            self.state.local_list = {}
        for entry in entries:
            if entry.get("id_tag_info") is None:
                self.state.local_list.pop(entry["id_tag"], None)
            else:
                self.state.local_list[entry["id_tag"]] = entry["id_tag_info"]
        self.state.local_list_version = list_version
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(list_version=self.state.local_list_version)

    # -- reservation ---------------------------------------------------------------------------

    @on(Action.reserve_now)
    async def on_reserve_now(self, connector_id: int, expiry_date: str, id_tag: str,
                             reservation_id: int, **kw: Any) -> call_result.ReserveNow:
        if connector_id in self.state.active:
            return call_result.ReserveNow(status="Occupied")
        self.state.reservations[reservation_id] = {
            "connector_id": connector_id, "id_tag": id_tag, "expiry_date": expiry_date,
            "parent_id_tag": kw.get("parent_id_tag")}
        return call_result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, reservation_id: int
                                    ) -> call_result.CancelReservation:
        found = self.state.reservations.pop(reservation_id, None)
        return call_result.CancelReservation(status="Accepted" if found else "Rejected")

    # -- smart charging ------------------------------------------------------------------------

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, connector_id: int,
                                      cs_charging_profiles: dict[str, Any]
                                      ) -> call_result.SetChargingProfile:
        key = (connector_id, int(cs_charging_profiles["charging_profile_id"]))
        self.state.profiles[key] = cs_charging_profiles
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, id: int | None = None,
                                        connector_id: int | None = None,
                                        charging_profile_purpose: str | None = None,
                                        stack_level: int | None = None
                                        ) -> call_result.ClearChargingProfile:
        def matches(key: tuple[int, int], profile: dict[str, Any]) -> bool:
            return ((id is None or key[1] == id)
                    and (connector_id is None or key[0] == connector_id)
                    and (charging_profile_purpose is None
                         or profile.get("charging_profile_purpose") == charging_profile_purpose)
                    and (stack_level is None or profile.get("stack_level") == stack_level))

        gone = [k for k, p in self.state.profiles.items() if matches(k, p)]
        for key in gone:
            del self.state.profiles[key]
        return call_result.ClearChargingProfile(status="Accepted" if gone else "Unknown")

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(self, connector_id: int, duration: int, **_: Any
                                        ) -> call_result.GetCompositeSchedule:
        profiles = [p for (c, _pid), p in self.state.profiles.items() if c == connector_id]
        if not profiles:
            return call_result.GetCompositeSchedule(status="Rejected")
        # The library hands us schedule numbers as Decimals (it validates them with
        # parse_float=Decimal); they go back on the wire as JSON numbers.
        schedule = _plain(dict(profiles[0]["charging_schedule"], duration=duration))
        return call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id,
            schedule_start=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            charging_schedule=schedule)

    # -- firmware management -------------------------------------------------------------------

    @on(Action.update_firmware)
    async def on_update_firmware(self, location: str, retrieve_date: str, **_: Any
                                 ) -> call_result.UpdateFirmware:
        self.after_reply(self._update_firmware)
        return call_result.UpdateFirmware()

    async def _update_firmware(self) -> None:
        outcome = self.state.firmware_outcome
        steps = ["Downloading"] + ([] if outcome == "DownloadFailed"
                                   else ["Downloaded", "Installing"]) + [outcome]
        for status in steps:
            await self.station.call(call.FirmwareStatusNotification(status=status))

    @on(Action.get_diagnostics)
    async def on_get_diagnostics(self, location: str, **_: Any) -> call_result.GetDiagnostics:
        file_name = f"diagnostics-{self.id}.log"
        self.state.diagnostics_locations.append(location)

        async def upload() -> None:
            await self.station.call(call.DiagnosticsStatusNotification(status="Uploading"))
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    if self.state.upload_multipart:
                        res = await client.post(location, files={
                            "file": (file_name, self.state.diagnostics, "text/plain")})
                    else:
                        res = await client.put(f"{location.rstrip('/')}/{file_name}",
                                               content=self.state.diagnostics)
                status = "Uploaded" if res.is_success else "UploadFailed"
            except httpx.HTTPError:
                status = "UploadFailed"
            self.state.uploads.append(status)
            await self.station.call(call.DiagnosticsStatusNotification(status=status))

        self.after_reply(upload)
        return call_result.GetDiagnostics(file_name=file_name)
