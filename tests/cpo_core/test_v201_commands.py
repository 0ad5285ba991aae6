"""CSMS -> station commands of OCPP 2.0.1, answered by the 2.0.1 simulator over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ocpp.exceptions import OCPPError, ValidationError

from cpo_core.base import format_timestamp
from cpo_core.simulator201 import SimulatedStation201
from cpo_core.v201 import StationConnection201
from tests.cpo_core.factories import PASSWORD, eventually, seed_station

HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


async def _connection(hub_ctx, station_id: str) -> StationConnection201:
    server = hub_ctx.components["ocpp"]

    async def present() -> bool:
        return station_id in server.stations

    assert await eventually(present)
    conn = server.stations[station_id]
    assert isinstance(conn, StationConnection201)
    return conn


async def test_commands_reach_the_station(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "CMD-201")
    async with SimulatedStation201(ocpp_url, "CMD-201", PASSWORD) as st:
        await st.boot()
        conn = await _connection(hub_ctx, "CMD-201")
        got = await conn.get_variables([HEARTBEAT])
        assert got.get_variable_result[0]["attribute_value"] == "300"
        changed = await conn.set_variables([{**HEARTBEAT, "attribute_value": "60"}])
        assert changed.set_variable_result[0]["attribute_status"] == "Accepted"
        assert st.variables[("OCPPCommCtrlr", "HeartbeatInterval")] == "60"
        assert (await conn.reset("Immediate")).status == "Accepted"
        assert (await conn.unlock_connector(1, 1)).status == "Unlocked"
        assert (await conn.trigger_message("Heartbeat")).status == "Accepted"
        expiry = format_timestamp(datetime.now(UTC) + timedelta(minutes=15))
        assert (await conn.reserve_now(11, expiry, "04A1B2C3D4", 1)).status == "Accepted"
        assert (await conn.cancel_reservation(11)).status == "Accepted"
        assert (await conn.send_local_list(3, "Full", [{
            "id_token": {"id_token": "04A1B2C3D4", "type": "ISO14443"},
            "id_token_info": {"status": "Accepted"}}])).status == "Accepted"
        assert (await conn.update_firmware(5, "https://hub.example/fw.bin",
                                           expiry)).status == "Accepted"
        log_answer = await conn.get_log(6, "https://hub.example/upload")
        assert (log_answer.status, log_answer.filename) == ("Accepted", "log-6.zip")
        profile = {"id": 1, "stack_level": 0, "charging_profile_purpose": "TxDefaultProfile",
                   "charging_profile_kind": "Absolute", "charging_schedule": [{
                       "id": 1, "charging_rate_unit": "A", "start_schedule": expiry,
                       "charging_schedule_period": [{"start_period": 0, "limit": 16}]}]}
        assert (await conn.set_charging_profile(1, profile)).status == "Accepted"
        assert (await conn.get_base_report(9)).status == "Accepted"
        assert (await conn.request_stop_transaction("NO-SUCH-TX")).status == "Rejected"
    assert [c[0] for c in st.commands] == [
        "Reset", "UnlockConnector", "TriggerMessage", "ReserveNow", "CancelReservation",
        "SendLocalList", "UpdateFirmware", "GetLog", "SetChargingProfile", "GetBaseReport"]


async def test_outbound_payloads_are_validated_and_refuse_decimals(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "CMD-201")
    async with SimulatedStation201(ocpp_url, "CMD-201", PASSWORD) as st:
        await st.boot()
        conn = await _connection(hub_ctx, "CMD-201")
        with pytest.raises(TypeError):
            await conn.set_charging_profile(1, {"id": 1, "limit": Decimal("1.25")})
        with pytest.raises((ValidationError, OCPPError)):
            await conn.reset("Sometime")
        # The connection still works after both refusals.
        assert (await conn.reset("OnIdle")).status == "Accepted"
