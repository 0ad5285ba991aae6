"""OCPP 2.0.1 with hand-written JSON frames over a plain ``websockets`` client (an OCPP
implementation other than the ``ocpp`` library): bad input gets OCPP-J 2.0.1 section 4.3
CallErrors and the connection stays; a whole session works frame by frame."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from hub.db.models import CdrRow, ChargingSessionRow, StationStatusRow
from tests.cpo_core.factories import seed_station, seed_token

OCPP201 = [Subprotocol("ocpp2.0.1")]
TAG = "04A1B2C3D4"


@pytest.fixture
async def raw(hub_ctx, ocpp_url):
    await seed_station(hub_ctx, "RAW-201", password=None)
    async with connect(f"{ocpp_url}/RAW-201", subprotocols=OCPP201) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
        yield ws


async def exchange(ws, frame: str | list) -> list:
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await ws.recv())


@pytest.mark.parametrize(("frame", "code"), [
    ('[2,"m1","Heartbeat",{', "FormatViolation"),  # invalid JSON
    ('[2,"m1","Heartbeat"]', "FormatViolation"),  # wrong array shape
    ('[2,"m1",17,{}]', "FormatViolation"),  # action is not a string
    ('[2,"m1","Heartbeat",[]]', "FormatViolation"),  # payload is not an object
    ('[9,"m1","Heartbeat",{}]', "MessageTypeNotSupported"),  # unknown MessageTypeId
    # schema: enum out of range -> the 2.0.1 spelling FormatViolation (never FormationViolation)
    ('[2,"m1","StatusNotification",{"timestamp":"2026-03-01T10:00:00Z",'
     '"connectorStatus":"Bogus","evseId":1,"connectorId":1}]', "FormatViolation"),
    ('[2,"m1","StatusNotification",{"timestamp":"2026-03-01T10:00:00Z",'
     '"connectorStatus":"Available","evseId":"one","connectorId":1}]',
     "TypeConstraintViolation"),
    # a required field missing: the library says ProtocolError ("not conform the PDU")
    ('[2,"m1","BootNotification",{"reason":"PowerUp"}]', "ProtocolError"),
    # date-time the library doesn't check: raised in our handler, respelled for 2.0.1
    ('[2,"m1","StatusNotification",{"timestamp":"yesterday","connectorStatus":"Available",'
     '"evseId":1,"connectorId":1}]', "FormatViolation"),
    # 2.0.1 knows it but we don't support it / nobody knows it (OCPP-J 2.0.1 section 4.3)
    ('[2,"m1","RequestStartTransaction",{"idToken":{"idToken":"X","type":"Central"},'
     '"remoteStartId":1}]', "NotSupported"),  # CSMS -> station only
    ('[2,"m1","StartTransaction",{}]', "NotImplemented"),  # a 1.6 action
    ('[2,"m1","NoSuchAction",{}]', "NotImplemented"),
])
async def test_malformed_frame_answered_and_connection_stays(raw, frame, code) -> None:
    answer = await exchange(raw, frame)
    assert answer[:3] == [4, "m1", code]
    assert isinstance(answer[3], str) and isinstance(answer[4], dict)
    ok = await exchange(raw, '[2,"ok","Heartbeat",{}]')
    assert ok[0] == 3 and ok[1] == "ok" and ok[2]["currentTime"].endswith("Z")


async def test_unanswerable_frames_are_dropped_without_closing(raw) -> None:
    for frame in ("not json at all", "{}", "[]", '[3,"x"]', '[4,"y","Oops"]', '"text"'):
        await raw.send(frame)
    ok = await exchange(raw, '[2,"ok2","Heartbeat",{}]')
    assert ok[:2] == [3, "ok2"]


async def test_every_station_action_is_answered(raw) -> None:
    """Notifications we only acknowledge still get their CallResult."""
    frames = [
        ["NotifyEvent", {"generatedAt": "2026-03-01T10:00:00Z", "seqNo": 0, "eventData": [{
            "eventId": 1, "timestamp": "2026-03-01T10:00:00Z", "trigger": "Delta",
            "actualValue": "Faulted", "eventNotificationType": "HardWiredNotification",
            "component": {"name": "Connector"}, "variable": {"name": "Problem"}}]}],
        ["NotifyReport", {"requestId": 7, "generatedAt": "2026-03-01T10:00:00Z", "seqNo": 0}],
        ["SecurityEventNotification", {"type": "FirmwareUpdated",
                                       "timestamp": "2026-03-01T10:00:00Z"}],
        ["FirmwareStatusNotification", {"status": "Installed", "requestId": 3}],
        ["LogStatusNotification", {"status": "Uploaded", "requestId": 4}],
        ["ReservationStatusUpdate", {"reservationId": 5, "reservationUpdateStatus": "Expired"}],
        ["NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {
            "requestedEnergyTransfer": "AC_three_phase"}}],
        ["MeterValues", {"evseId": 0, "meterValue": [{"timestamp": "2026-03-01T10:00:00Z",
                                                      "sampledValue": [{"value": 12.5}]}]}],
    ]
    for n, (action, payload) in enumerate(frames):
        answer = await exchange(raw, [2, f"n{n}", action, payload])
        assert answer[0] == 3 and answer[1] == f"n{n}", (action, answer)
    data = await exchange(raw, [2, "dt", "DataTransfer", {"vendorId": "com.example"}])
    assert data == [3, "dt", {"status": "UnknownVendorId"}]


async def test_hand_written_session(hub_ctx, raw) -> None:
    await seed_token(hub_ctx, TAG)
    boot = await exchange(raw, [2, "b", "BootNotification", {
        "chargingStation": {"model": "Raw", "vendorName": "Hand"}, "reason": "PowerUp"}])
    assert boot[2]["status"] == "Accepted" and boot[2]["interval"] > 0
    status = await exchange(raw, [2, "s", "StatusNotification", {
        "timestamp": "2026-03-01T10:00:00", "connectorStatus": "Occupied", "evseId": 2,
        "connectorId": 1}])  # naive timestamp: taken as UTC
    assert status == [3, "s", {}]
    auth = await exchange(raw, [2, "a", "Authorize", {
        "idToken": {"idToken": TAG, "type": "ISO14443"}}])
    assert auth[2] == {"idTokenInfo": {"status": "Accepted"}}

    def event(seq: int, kind: str, value: float, context: str, minute: int, **extra) -> list:
        return [2, f"t{seq}", "TransactionEvent", {
            "eventType": kind, "timestamp": f"2026-03-01T10:{minute:02d}:00Z",
            "triggerReason": "Authorized" if kind == "Started" else "MeterValuePeriodic",
            "seqNo": seq, "transactionInfo": {"transactionId": "RAW-TX-1", **extra},
            "evse": {"id": 2, "connectorId": 1},
            "meterValue": [{"timestamp": f"2026-03-01T10:{minute:02d}:00Z", "sampledValue": [
                {"value": value, "context": context,
                 "unitOfMeasure": {"unit": "kWh"}}]}]}]

    started = event(0, "Started", 100, "Transaction.Begin", 0)
    started[3]["idToken"] = {"idToken": TAG, "type": "ISO14443"}
    assert (await exchange(raw, started))[2] == {"idTokenInfo": {"status": "Accepted"}}
    assert (await exchange(raw, event(1, "Updated", 104.25, "Sample.Periodic", 20)))[2] == {}
    ended = event(2, "Ended", 110.5, "Transaction.End", 40, stoppedReason="EVDisconnected")
    assert (await exchange(raw, ended))[2] == {}
    async with hub_ctx.sessionmaker() as session:
        row = (await session.scalars(select(ChargingSessionRow).where(
            ChargingSessionRow.ocpp_transaction_ref == "RAW-TX-1"))).one()
        cdr = (await session.scalars(select(CdrRow).where(CdrRow.session_pk == row.id))).one()
        history = (await session.scalars(select(StationStatusRow).where(
            StationStatusRow.station_id == "RAW-201"))).one()
    assert (row.status, row.kwh, row.meter_start, row.meter_stop) == (
        "COMPLETED", Decimal("10.5"), Decimal(100000), Decimal(110500))
    assert row.ocpp_connector_id == 2 and row.stop_reason == "EVDisconnected"
    assert cdr.total_energy == Decimal("10.5")
    assert (history.ocpp_connector_id, history.status, history.info) == (
        2, "Occupied", "connectorId=1")


async def test_transaction_authorized_after_it_started(hub_ctx, raw) -> None:
    """TxStartPoint EVConnected: Started without idToken, authorized by a later Updated."""
    await seed_token(hub_ctx, TAG)

    def event(seq: int, kind: str, wh: int | None, minute: int) -> dict:
        payload = {"eventType": kind, "timestamp": f"2026-03-01T11:{minute:02d}:00Z",
                   "triggerReason": "CablePluggedIn", "seqNo": seq,
                   "transactionInfo": {"transactionId": "LATE-1"}, "evse": {"id": 1}}
        if wh is not None:
            payload["meterValue"] = [{"timestamp": payload["timestamp"],
                                      "sampledValue": [{"value": wh}]}]
        return payload

    assert (await exchange(raw, [2, "l0", "TransactionEvent", event(0, "Started", 500, 0)]))[
        2] == {}
    late = event(1, "Updated", None, 5)
    late["idToken"] = {"idToken": TAG, "type": "ISO14443"}
    answer = await exchange(raw, [2, "l1", "TransactionEvent", late])
    assert answer[2] == {"idTokenInfo": {"status": "Accepted"}}
    await exchange(raw, [2, "l2", "TransactionEvent", event(2, "Ended", 2500, 30)])
    async with hub_ctx.sessionmaker() as session:
        row = (await session.scalars(select(ChargingSessionRow).where(
            ChargingSessionRow.ocpp_transaction_ref == "LATE-1"))).one()
    assert (row.status, row.kwh, row.meter_start) == ("COMPLETED", Decimal(2), Decimal(500))
    assert row.start_date_time.minute == 0 and row.start_date_time.hour == 11
