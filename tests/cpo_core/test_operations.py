"""OCPP 1.6 operations through the real admin HTTP API against a connected simulated station."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from cpo_core.simulator import SimulatedStation
from hub.db.models import ChargingSessionRow, StationStatusRow
from tests.conftest import LiveHub
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token

TAGS = ("04A1B2C3D4", "04FFEE0011")


@dataclass
class Ops:
    hub: LiveHub
    station: SimulatedStation
    admin: httpx.AsyncClient

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.hub.ctx.components['ocpp'].port}/ocpp"


@pytest.fixture
async def ops(make_settings, start_hub) -> AsyncIterator[Ops]:
    hub = await start_hub(await asyncio.to_thread(make_settings))
    await seed_station(hub.ctx, "OPS-1")
    for tag in TAGS:
        await seed_token(hub.ctx, tag)
    url = f"ws://127.0.0.1:{hub.ctx.components['ocpp'].port}/ocpp"
    async with SimulatedStation(url, "OPS-1", PASSWORD) as st, \
            httpx.AsyncClient(base_url=f"{hub.url}/admin", timeout=10) as admin:
        assert await st.boot() == "Accepted"
        yield Ops(hub, st, admin)


async def test_remote_start_is_correlated_and_remote_stop_ends_it(ops: Ops) -> None:
    res = await ops.admin.post("/stations/OPS-1/remote-start",
                               json={"id_tag": TAGS[0], "connector_id": 1})
    assert res.status_code == 200 and res.json()["status"] == "Accepted"
    request_id = res.json()["requestId"]

    async def linked() -> bool:
        rows = (await ops.admin.get("/remote-starts", params={"station_id": "OPS-1"})).json()
        return rows[0]["session_id"] is not None

    assert await eventually(linked)
    [request] = (await ops.admin.get("/remote-starts")).json()
    [session] = (await ops.admin.get("/sessions")).json()
    assert request["id"] == request_id and request["status"] == "Accepted"
    assert request["session_id"] == session["id"]
    assert request["transaction_id"] == session["transaction_id"]
    assert request["id_tag"] == "****" + TAGS[0][-4:]

    # The connector is busy now: the station refuses a second remote start on it.
    busy = await ops.admin.post("/stations/OPS-1/remote-start",
                                json={"id_tag": TAGS[1], "connector_id": 1})
    assert busy.json()["status"] == "Rejected"

    stop = await ops.admin.post("/stations/OPS-1/remote-stop",
                                json={"transaction_id": session["transaction_id"]})
    assert stop.json() == {"status": "Accepted"}

    async def completed() -> bool:
        async with ops.hub.ctx.sessionmaker() as s:
            row = await s.get(ChargingSessionRow, session["transaction_id"])
            return row is not None and row.status == "COMPLETED"

    assert await eventually(completed)
    unknown = await ops.admin.post("/stations/OPS-1/remote-stop",
                                   json={"transaction_id": 999_999})
    assert unknown.json()["status"] == "Rejected"


async def test_unlock_reset_and_data_transfer(ops: Ops) -> None:
    res = await ops.admin.post("/stations/OPS-1/unlock", json={"connector_id": 2})
    assert res.json() == {"status": "Unlocked"} and ops.station.state.unlocked == [2]
    res = await ops.admin.post("/stations/OPS-1/reset", json={"type": "Hard"})
    assert res.json() == {"status": "Accepted"} and ops.station.state.resets == ["Hard"]
    assert (await ops.admin.post("/stations/OPS-1/reset", json={"type": "Warm"})
            ).status_code == 422
    res = await ops.admin.post("/stations/OPS-1/data-transfer",
                               json={"vendor_id": "HubSim", "data": "ping"})
    assert res.json() == {"status": "Accepted", "data": "ping"}
    res = await ops.admin.post("/stations/OPS-1/data-transfer", json={"vendor_id": "Other"})
    assert res.json() == {"status": "UnknownVendorId"}


async def test_get_and_change_configuration(ops: Ops) -> None:
    res = await ops.admin.get("/stations/OPS-1/configuration",
                              params=[("key", "HeartbeatInterval"), ("key", "Nope")])
    assert res.json() == {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["Nope"]}
    everything = (await ops.admin.get("/stations/OPS-1/configuration")).json()
    assert {"key": "NumberOfConnectors", "readonly": True, "value": "2"} in \
        everything["configurationKey"]
    changes = [("HeartbeatInterval", "Accepted"), ("NumberOfConnectors", "Rejected"),
               ("NoSuchKey", "NotSupported")]
    for key, expected in changes:
        res = await ops.admin.put("/stations/OPS-1/configuration",
                                  json={"key": key, "value": "120"})
        assert res.json() == {"status": expected}, key
    assert ops.station.state.configuration["HeartbeatInterval"] == "120"


async def test_trigger_message_makes_the_station_send_it(ops: Ops) -> None:
    res = await ops.admin.post("/stations/OPS-1/trigger",
                               json={"requested_message": "StatusNotification",
                                     "connector_id": 2})
    assert res.json() == {"status": "Accepted"}

    async def status_seen() -> bool:
        async with ops.hub.ctx.sessionmaker() as s:
            return (await s.scalars(select(StationStatusRow).where(
                StationStatusRow.station_id == "OPS-1",
                StationStatusRow.ocpp_connector_id == 2))).first() is not None

    assert await eventually(status_seen)
    res = await ops.admin.post("/stations/OPS-1/trigger",
                               json={"requested_message": "Heartbeat"})
    assert res.json() == {"status": "Accepted"}
    bad = await ops.admin.post("/stations/OPS-1/trigger", json={"requested_message": "Nope"})
    assert bad.status_code == 422  # not an OCPP 1.6 MessageTrigger


async def test_local_list_sync_sends_our_tokens_with_versions(ops: Ops) -> None:
    first = (await ops.admin.post("/stations/OPS-1/local-list/sync")).json()
    assert first == {"status": "Accepted", "listVersion": 1, "entries": 2}
    assert set(ops.station.state.local_list) == set(TAGS)
    assert ops.station.state.local_list[TAGS[0]] == {"status": "Accepted"}
    await seed_token(ops.hub.ctx, TAGS[1], valid=False)
    second = (await ops.admin.post("/stations/OPS-1/local-list/sync")).json()
    assert second["listVersion"] == 2
    assert ops.station.state.local_list[TAGS[1]] == {"status": "Blocked"}
    ops.station.state.local_list_version = 7  # changed behind our back
    version = (await ops.admin.get("/stations/OPS-1/local-list/version")).json()
    assert version == {"listVersion": 7}
    state = (await ops.admin.get("/stations/OPS-1/operations")).json()
    assert state["local_list_version"] == 7


async def test_reservations_are_stored_and_cancelled(ops: Ops) -> None:
    expiry = datetime.now(UTC) + timedelta(minutes=30)
    res = await ops.admin.post("/stations/OPS-1/reservations", json={
        "connector_id": 1, "id_tag": TAGS[0], "expiry_date": expiry.isoformat()})
    assert res.json()["status"] == "Accepted"
    reservation_id = res.json()["reservationId"]
    assert ops.station.state.reservations[reservation_id]["id_tag"] == TAGS[0]
    [listed] = (await ops.admin.get("/reservations")).json()
    assert listed["id"] == reservation_id and listed["status"] == "Accepted"

    res = await ops.admin.delete(f"/stations/OPS-1/reservations/{reservation_id}")
    assert res.json() == {"status": "Accepted"}
    assert reservation_id not in ops.station.state.reservations
    [listed] = (await ops.admin.get("/reservations")).json()
    assert listed["status"] == "Cancelled"
    again = await ops.admin.delete(f"/stations/OPS-1/reservations/{reservation_id}")
    assert again.json() == {"status": "Rejected"}
    assert (await ops.admin.delete("/stations/OPS-1/reservations/4242")).status_code == 404
    past = await ops.admin.post("/stations/OPS-1/reservations", json={
        "connector_id": 1, "id_tag": TAGS[0],
        "expiry_date": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()})
    assert past.status_code == 422


PROFILE = {
    "chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A",
                         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]},
}


async def test_charging_profiles_set_composite_clear(ops: Ops) -> None:
    res = await ops.admin.post("/stations/OPS-1/charging-profiles",
                               json={"connector_id": 1, "profile": PROFILE})
    assert res.json() == {"status": "Accepted"}
    assert (1, 7) in ops.station.state.profiles
    res = await ops.admin.get("/stations/OPS-1/composite-schedule",
                              params={"connector_id": 1, "duration": 3600})
    body = res.json()
    assert body["status"] == "Accepted" and body["connectorId"] == 1
    assert body["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0}]
    res = await ops.admin.delete("/stations/OPS-1/charging-profiles", params={"profile_id": 7})
    assert res.json() == {"status": "Accepted"} and not ops.station.state.profiles
    res = await ops.admin.delete("/stations/OPS-1/charging-profiles", params={"profile_id": 7})
    assert res.json() == {"status": "Unknown"}
    broken = {k: v for k, v in PROFILE.items() if k != "chargingSchedule"}
    res = await ops.admin.post("/stations/OPS-1/charging-profiles",
                               json={"connector_id": 1, "profile": broken})
    assert res.status_code == 422


async def test_not_connected_and_unknown_stations(ops: Ops) -> None:
    await seed_station(ops.hub.ctx, "OPS-OFF")
    res = await ops.admin.post("/stations/OPS-OFF/reset", json={"type": "Soft"})
    assert res.status_code == 409 and "not connected" in res.json()["detail"]
    res = await ops.admin.post("/stations/NOPE/reset", json={"type": "Soft"})
    assert res.status_code == 404
