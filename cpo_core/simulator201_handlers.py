"""The simulated 2.0.1/2.1 station's answers to the CSMS's CALLs (cpo_core.simulator201).

Follow-ups (a transaction after RequestStartTransaction, NotifyReport after GetBaseReport,
FirmwareStatusNotifications after UpdateFirmware, the upload after GetLog, the triggered
message after TriggerMessage) run once the answer is on the wire (``after_reply``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from ocpp.routing import on
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from cpo_core.base import OcppChargePoint201

if TYPE_CHECKING:
    from cpo_core.simulator201 import SimulatedStation201

FIRMWARE_STEPS = ("Downloading", "Downloaded", "Installing", "Installed")


class StationHandlers201(OcppChargePoint201):
    """The station's protocol end: answers the CSMS's CALLs."""

    sim: SimulatedStation201

    def _note(self, action: str, detail: Any = "") -> None:
        self.sim.commands.append((action, str(detail)))

    # -- F01-F06, B11 ---------------------------------------------------------------------------

    @on(Action.request_start_transaction)
    async def on_request_start(self, id_token: dict[str, Any], remote_start_id: int,
                               **kw: Any) -> call_result.RequestStartTransaction:
        evse = kw.get("evse_id") or 1
        if any(tx.evse == evse for tx in self.sim.transactions.values()):
            return call_result.RequestStartTransaction(status="Rejected")
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

    @on(Action.reset)
    async def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        self._note("Reset", type)
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    async def on_unlock(self, evse_id: int, connector_id: int,
                        **_: Any) -> call_result.UnlockConnector:
        self._note("UnlockConnector", f"{evse_id}/{connector_id}")
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    async def on_trigger(self, requested_message: str, **kw: Any) -> call_result.TriggerMessage:
        self._note("TriggerMessage", requested_message)
        evse = (kw.get("evse") or {}).get("id") or 1
        follow_up = {
            "Heartbeat": self.sim.heartbeat_only,
            "StatusNotification": lambda: self.sim.status(evse, "Available"),
            "SignChargingStationCertificate": self.sim.sign_certificate_only,
        }.get(requested_message)
        if follow_up is None:
            return call_result.TriggerMessage(status="NotImplemented")
        self.after_reply(follow_up)
        return call_result.TriggerMessage(status="Accepted")

    # -- B05-B07 variables and reports ---------------------------------------------------------

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

    @on(Action.get_base_report)
    async def on_get_base_report(self, request_id: int, **_: Any) -> call_result.GetBaseReport:
        self._note("GetBaseReport", request_id)
        self.after_reply(lambda: self.sim.send_report(request_id))
        return call_result.GetBaseReport(status="Accepted")

    # -- H01/H02, D01/D02, P01 ------------------------------------------------------------------

    @on(Action.reserve_now)
    async def on_reserve(self, id: int, **_: Any) -> call_result.ReserveNow:
        self._note("ReserveNow", id)
        return call_result.ReserveNow(status="Accepted")

    @on(Action.cancel_reservation)
    async def on_cancel_reservation(self, reservation_id: int,
                                    **_: Any) -> call_result.CancelReservation:
        self._note("CancelReservation", reservation_id)
        return call_result.CancelReservation(status="Accepted")

    @on(Action.send_local_list)
    async def on_send_local_list(self, version_number: int, **kw: Any
                                 ) -> call_result.SendLocalList:
        self._note("SendLocalList", version_number)
        self.sim.local_list_version = version_number
        self.sim.local_list = [e["id_token"]["id_token"]
                               for e in kw.get("local_authorization_list") or []]
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    async def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(version_number=self.sim.local_list_version)

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **kw: Any) -> call_result.DataTransfer:
        self._note("DataTransfer", vendor_id)
        return call_result.DataTransfer(status="Accepted", data=kw.get("data"))

    # -- K01/K10/K08 ------------------------------------------------------------------------------

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, evse_id: int,
                                      **kw: Any) -> call_result.SetChargingProfile:
        self._note("SetChargingProfile", evse_id)
        profile = kw.get("charging_profile") or {}
        self.sim.profiles[int(profile.get("id", 0))] = {**profile, "evse_id": evse_id}
        return call_result.SetChargingProfile(status="Accepted")

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, **kw: Any) -> call_result.ClearChargingProfile:
        self._note("ClearChargingProfile", kw.get("charging_profile_id"))
        if kw.get("charging_profile_id") is not None:  # K10: Unknown when none matches
            found = self.sim.profiles.pop(int(kw["charging_profile_id"]), None)
            return call_result.ClearChargingProfile(status="Accepted" if found else "Unknown")
        return call_result.ClearChargingProfile(status="Accepted")

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(self, duration: int, evse_id: int, **_: Any
                                        ) -> call_result.GetCompositeSchedule:
        self._note("GetCompositeSchedule", f"{evse_id}/{duration}")
        found = [p for p in self.sim.profiles.values() if p["evse_id"] == evse_id]
        if not found:
            return call_result.GetCompositeSchedule(status="Rejected")
        schedule = found[0]["charging_schedule"][0]  # K08: the one profile is the composite
        periods = [{"start_period": p["start_period"], "limit": float(p["limit"])}
                   for p in schedule["charging_schedule_period"]]
        return call_result.GetCompositeSchedule(status="Accepted", schedule={
            "evse_id": evse_id, "duration": duration,
            "schedule_start": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "charging_rate_unit": schedule["charging_rate_unit"],
            "charging_schedule_period": periods})

    # -- L01 firmware, N01 logs -----------------------------------------------------------------

    @on(Action.update_firmware)
    async def on_update_firmware(self, request_id: int, **_: Any) -> call_result.UpdateFirmware:
        self._note("UpdateFirmware", request_id)

        async def progress() -> None:
            for status in FIRMWARE_STEPS:
                await self.call(call.FirmwareStatusNotification(status=status,
                                                                request_id=request_id))

        self.after_reply(progress)
        return call_result.UpdateFirmware(status="Accepted")

    @on(Action.get_log)
    async def on_get_log(self, request_id: int, log: dict[str, Any],
                         **_: Any) -> call_result.GetLog:
        self._note("GetLog", request_id)
        filename = f"log-{request_id}.zip"

        async def upload() -> None:
            await self.call(call.LogStatusNotification(status="Uploading",
                                                       request_id=request_id))
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    res = await client.put(f"{log['remote_location'].rstrip('/')}/{filename}",
                                           content=self.sim.log_file)
                status = "Uploaded" if res.is_success else "UploadFailure"
            except httpx.HTTPError:
                status = "UploadFailure"
            await self.call(call.LogStatusNotification(status=status, request_id=request_id))

        if log.get("remote_location", "").startswith("http"):
            self.after_reply(upload)
        return call_result.GetLog(status="Accepted", filename=filename)

    # -- A02, M03-M05 certificates --------------------------------------------------------------

    @on(Action.certificate_signed)
    async def on_certificate_signed(self, certificate_chain: str, **_: Any
                                    ) -> call_result.CertificateSigned:
        self.sim.signed_chains.append(certificate_chain)
        return call_result.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)
    async def on_install_certificate(self, certificate_type: str, certificate: str,
                                     **_: Any) -> call_result.InstallCertificate:
        self.sim.installed[certificate_type] = certificate
        return call_result.InstallCertificate(status="Accepted")

    @on(Action.get_installed_certificate_ids)
    async def on_get_installed_certificate_ids(self, **_: Any
                                               ) -> call_result.GetInstalledCertificateIds:
        chains = [{"certificate_type": use, "certificate_hash_data": hash_data}
                  for use, hash_data in self.sim.installed_hashes()]
        return call_result.GetInstalledCertificateIds(
            status="Accepted" if chains else "NotFound",
            certificate_hash_data_chain=chains or None)

    @on(Action.delete_certificate)
    async def on_delete_certificate(self, certificate_hash_data: dict[str, Any], **_: Any
                                    ) -> call_result.DeleteCertificate:
        for use, hash_data in self.sim.installed_hashes():
            if hash_data["serial_number"] == certificate_hash_data["serial_number"]:
                del self.sim.installed[use]
                return call_result.DeleteCertificate(status="Accepted")
        return call_result.DeleteCertificate(status="NotFound")


class StationHandlers21(StationHandlers201):
    """The same station speaking OCPP 2.1 (ocpp.v21 schemas and results)."""

    _call = call21
    _call_result = result21
    _ocpp_version = "2.1"
