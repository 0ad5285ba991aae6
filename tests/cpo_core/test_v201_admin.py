"""The admin API's station operations for an OCPP 2.0.1 station, over the real HTTP API against
the 2.0.1 simulator (the same endpoints as for 1.6, cpo_core.commands201)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from cpo_core.simulator201 import SimulatedStation201
from hub.db.models import ChargingSessionRow, StationStatusRow
from tests.conftest import LiveHub
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token

TAGS = ("04A1B2C3D4", "04FFEE0011")
SID = "OPS-201"


@dataclass
class Ops:
    hub: LiveHub
    station: SimulatedStation201
    admin: httpx.AsyncClient


@pytest.fixture
async def ops(make_settings, start_hub) -> AsyncIterator[Ops]:
    hub = await start_hub(await asyncio.to_thread(make_settings))
    await seed_station(hub.ctx, SID)
    for tag in TAGS:
        await seed_token(hub.ctx, tag)
    url = f"ws://127.0.0.1:{hub.ctx.components['ocpp'].port}/ocpp"
    async with SimulatedStation201(url, SID, PASSWORD) as st, \
            httpx.AsyncClient(base_url=f"{hub.url}/admin", timeout=10) as admin:
        assert await st.boot() == "Accepted"
        yield Ops(hub, st, admin)


async def test_remote_start_is_correlated_and_remote_stop_ends_it(ops: Ops) -> None:
    res = await ops.admin.post(f"/stations/{SID}/remote-start",
                               json={"id_tag": TAGS[0], "connector_id": 1})
    assert res.status_code == 200, res.text
    answer = res.json()
    assert answer["status"] == "Accepted" and answer["remoteStartId"] > 0

    async def linked() -> bool:
        rows = (await ops.admin.get("/remote-starts", params={"station_id": SID})).json()
        return bool(rows) and rows[0]["session_id"] is not None

    assert await eventually(linked)
    [request] = (await ops.admin.get("/remote-starts")).json()
    [session] = (await ops.admin.get("/sessions")).json()
    assert (request["id"], request["ocpp_version"], request["status"]) == (
        answer["requestId"], "2.0.1", "Started")
    assert request["remote_start_id"] == answer["remoteStartId"]
    assert request["session_id"] == session["id"]
    assert request["transaction_id"] == session["transaction_id"]
    assert request["id_tag"] == "****" + TAGS[0][-4:]

    busy = await ops.admin.post(f"/stations/{SID}/remote-start",
                                json={"id_tag": TAGS[1], "connector_id": 1})
    assert busy.json()["status"] == "Rejected"

    # Our session id is translated to the station's transactionId.
    stop = await ops.admin.post(f"/stations/{SID}/remote-stop",
                                json={"transaction_id": session["transaction_id"]})
    assert stop.json() == {"status": "Accepted"}

    async def completed() -> bool:
        async with ops.hub.ctx.sessionmaker() as s:
            row = await s.get(ChargingSessionRow, session["transaction_id"])
            return row is not None and row.status == "COMPLETED"

    assert await eventually(completed)
    unknown = await ops.admin.post(f"/stations/{SID}/remote-stop",
                                   json={"transaction_id": "NO-SUCH-TX"})
    assert unknown.json()["status"] == "Rejected"


async def test_unlock_reset_data_transfer_and_trigger(ops: Ops) -> None:
    res = await ops.admin.post(f"/stations/{SID}/unlock", json={"connector_id": 2})
    assert res.json() == {"status": "Unlocked"}
    assert (await ops.admin.post(f"/stations/{SID}/reset", json={"type": "Soft"})
            ).json() == {"status": "Accepted"}
    assert (await ops.admin.post(f"/stations/{SID}/reset", json={"type": "Hard"})
            ).json() == {"status": "Accepted"}
    res = await ops.admin.post(f"/stations/{SID}/data-transfer",
                               json={"vendor_id": "HubSim", "data": "ping"})
    assert res.json() == {"status": "Accepted", "data": "ping"}
    res = await ops.admin.post(f"/stations/{SID}/trigger",
                               json={"requested_message": "StatusNotification",
                                     "connector_id": 2})
    assert res.json() == {"status": "Accepted"}

    async def status_seen() -> bool:
        async with ops.hub.ctx.sessionmaker() as s:
            return (await s.scalars(select(StationStatusRow).where(
                StationStatusRow.station_id == SID,
                StationStatusRow.ocpp_connector_id == 2))).first() is not None

    assert await eventually(status_seen)
    # The 1.6 name is translated (LogStatusNotification), which this station does not do.
    res = await ops.admin.post(f"/stations/{SID}/trigger",
                               json={"requested_message": "DiagnosticsStatusNotification"})
    assert res.json() == {"status": "NotImplemented"}
    bad = await ops.admin.post(f"/stations/{SID}/trigger", json={"requested_message": "Nope"})
    assert bad.status_code == 422  # not a 2.0.1 MessageTrigger
    assert ops.station.commands[:5] == [
        ("UnlockConnector", "2/1"), ("Reset", "OnIdle"), ("Reset", "Immediate"),
        ("DataTransfer", "HubSim"), ("TriggerMessage", "StatusNotification")]


async def test_configuration_maps_onto_variables(ops: Ops) -> None:
    res = await ops.admin.get(f"/stations/{SID}/configuration",
                              params=[("key", "HeartbeatInterval"), ("key", "TxCtrlr/Nope")])
    body = res.json()
    assert body["configurationKey"] == [{"key": "OCPPCommCtrlr/HeartbeatInterval",
                                         "value": "300"}]
    assert body["unknownKey"] == ["TxCtrlr/Nope"]
    assert body["getVariableResult"][1]["attributeStatus"] == "UnknownVariable"
    res = await ops.admin.put(f"/stations/{SID}/configuration",
                              json={"key": "MeterValueSampleInterval", "value": "60"})
    assert res.json()["status"] == "Accepted"
    assert ops.station.variables[("SampledDataCtrlr", "TxUpdatedInterval")] == "60"
    res = await ops.admin.put(f"/stations/{SID}/configuration",
                              json={"key": "EVSE@1/AvailabilityState", "value": "x"})
    assert res.json()["setVariableResult"][0]["component"] == {"name": "EVSE",
                                                               "evse": {"id": 1}}
    # Without keys: GetBaseReport(ConfigurationInventory) and the NotifyReports (two parts).
    everything = (await ops.admin.get(f"/stations/{SID}/configuration")).json()
    assert everything["status"] == "Accepted"
    assert {"key": "OCPPCommCtrlr/HeartbeatInterval", "readonly": False, "value": "300"} in \
        everything["configurationKey"]
    assert {"key": "SampledDataCtrlr/TxUpdatedInterval", "readonly": False, "value": "60"} in \
        everything["configurationKey"]
    unknown_alias = await ops.admin.put(f"/stations/{SID}/configuration",
                                        json={"key": "SomeVendorKey", "value": "1"})
    assert unknown_alias.status_code == 422


async def test_local_list_reservations_and_charging_profiles(ops: Ops) -> None:
    first = (await ops.admin.post(f"/stations/{SID}/local-list/sync")).json()
    assert (first["status"], first["listVersion"], first["entries"]) == ("Accepted", 1, 2)
    assert sorted(ops.station.local_list) == sorted(TAGS)
    version = (await ops.admin.get(f"/stations/{SID}/local-list/version")).json()
    assert version == {"versionNumber": 1, "listVersion": 1}

    expiry = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    res = await ops.admin.post(f"/stations/{SID}/reservations",
                               json={"connector_id": 1, "id_tag": TAGS[0],
                                     "expiry_date": expiry})
    reservation_id = res.json()["reservationId"]
    assert res.json()["status"] == "Accepted"
    assert ("ReserveNow", str(reservation_id)) in ops.station.commands
    cancel = await ops.admin.delete(f"/stations/{SID}/reservations/{reservation_id}")
    assert cancel.json() == {"status": "Accepted"}
    [row] = (await ops.admin.get("/reservations", params={"station_id": SID})).json()
    assert row["status"] == "Cancelled"

    profile = {"id": 7, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Relative", "chargingSchedule": [{
                   "id": 1, "chargingRateUnit": "A",
                   "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}]}
    res = await ops.admin.post(f"/stations/{SID}/charging-profiles",
                               json={"connector_id": 1, "profile": profile})
    assert res.json() == {"status": "Accepted"}
    broken = await ops.admin.post(f"/stations/{SID}/charging-profiles",
                                  json={"connector_id": 1, "profile": {"id": 7}})
    assert broken.status_code == 422
    res = await ops.admin.delete(f"/stations/{SID}/charging-profiles",
                                 params={"profile_id": 7})
    assert res.json() == {"status": "Accepted"}
    res = await ops.admin.get(f"/stations/{SID}/composite-schedule",
                              params={"connector_id": 1, "duration": 600, "unit": "A"})
    assert res.json() == {"status": "Rejected"}
    assert ("ClearChargingProfile", "7") in ops.station.commands


async def test_firmware_campaign_and_log_upload(ops: Ops) -> None:
    res = await ops.admin.post("/firmware-campaigns", json={
        "vendor": "hubsim", "location": "https://fw.example/sim-2.bin"})
    assert res.status_code == 201, res.text
    campaign = res.json()
    # Sent, or further already: the station reports progress right after its answer.
    [target] = campaign["stations"]
    assert target["status"] in ("Sent", "Downloading", "Downloaded", "Installing", "Installed")
    assert ("UpdateFirmware", str(campaign["id"])) in ops.station.commands

    async def installed() -> bool:
        got = (await ops.admin.get(f"/firmware-campaigns/{campaign['id']}")).json()
        return got["counts"] == {"Installed": 1}

    assert await eventually(installed)

    res = await ops.admin.post(f"/stations/{SID}/diagnostics", json={})
    answer = res.json()
    assert (answer["status"], answer["filename"]) == ("Accepted",
                                                     f"log-{answer['uploadId']}.zip")

    async def uploaded() -> bool:
        rows = (await ops.admin.get("/uploads", params={"station_id": SID})).json()
        ops_state = (await ops.admin.get(f"/stations/{SID}/operations")).json()
        return rows[0]["status"] == "Uploaded" and ops_state["diagnostics_status"] == "Uploaded"

    assert await eventually(uploaded)
    file = await ops.admin.get(f"/uploads/{answer['uploadId']}/file")
    assert file.content == ops.station.log_file
    state = (await ops.admin.get(f"/stations/{SID}/operations")).json()
    assert state["firmware_status"] == "Installed"


async def test_not_connected_and_unknown_station(ops: Ops) -> None:
    await ops.station.close()

    async def gone() -> bool:
        return SID not in ops.hub.ctx.components["ocpp"].stations

    assert await eventually(gone)
    res = await ops.admin.post(f"/stations/{SID}/reset", json={"type": "Soft"})
    assert res.status_code == 409
    res = await ops.admin.post("/stations/NOPE/reset", json={"type": "Soft"})
    assert res.status_code == 404
