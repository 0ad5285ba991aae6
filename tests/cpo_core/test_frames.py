"""Malformed frames get a CALLERROR (OCPP-J 1.6 spelling) and the connection stays up."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from hub.db.models import StationStatusRow
from tests.cpo_core.factories import seed_station

OCPP16 = [Subprotocol("ocpp1.6")]


@pytest.fixture
async def raw(hub_ctx, ocpp_url):
    await seed_station(hub_ctx, "RAW-1", password=None)
    async with connect(f"{ocpp_url}/RAW-1", subprotocols=OCPP16) as ws:
        yield ws


async def exchange(ws, frame: str) -> list:
    await ws.send(frame)
    return json.loads(await ws.recv())


@pytest.mark.parametrize(("frame", "code"), [
    ('[2,"m1","Heartbeat",{', "FormationViolation"),  # invalid JSON
    ('[2,"m1","Heartbeat"]', "FormationViolation"),  # wrong array shape
    ('[2,"m1",17,{}]', "FormationViolation"),  # action is not a string
    ('[2,"m1","Heartbeat",[]]', "FormationViolation"),  # payload is not an object
    ('[9,"m1","Heartbeat",{}]', "FormationViolation"),  # unknown MessageTypeId
    # schema: enum value out of range -> the library's FormatViolation, 1.6 spelling
    ('[2,"m1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Bogus"}]',
     "FormationViolation"),
    ('[2,"m1","StatusNotification",{"connectorId":"one","errorCode":"NoError",'
     '"status":"Available"}]', "TypeConstraintViolation"),
    ('[2,"m1","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3D4","meterStart":0,'
     '"timestamp":"yesterday"}]', "FormationViolation"),  # unparsable date-time
    # OCPP-J 1.6 section 4.2.3: known but not supported / not known at all
    ('[2,"m1","CancelReservation",{"reservationId":1}]', "NotSupported"),
    ('[2,"m1","NoSuchAction",{}]', "NotImplemented"),
])
async def test_malformed_frame_answered_and_connection_stays(raw, frame, code) -> None:
    answer = await exchange(raw, frame)
    assert answer[:3] == [4, "m1", code]
    assert isinstance(answer[4], dict)
    ok = await exchange(raw, '[2,"ok","Heartbeat",{}]')
    assert ok[0] == 3 and ok[1] == "ok" and ok[2]["currentTime"].endswith("Z")


async def test_unanswerable_frames_are_dropped_without_closing(raw) -> None:
    for frame in ("not json at all", "{}", "[]", '[3,"x"]', '[4,"y","Oops"]', '"text"'):
        await raw.send(frame)
    ok = await exchange(raw, '[2,"ok2","Heartbeat",{}]')
    assert ok[:2] == [3, "ok2"]


async def test_naive_timestamp_is_taken_as_utc(hub_ctx, raw) -> None:
    answer = await exchange(
        raw, '[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
        '"status":"Available","timestamp":"2026-03-01T10:00:00"}]')
    assert answer == [3, "s1", {}]
    async with hub_ctx.sessionmaker() as session:
        row = (await session.scalars(select(StationStatusRow).where(
            StationStatusRow.station_id == "RAW-1"))).one()
    assert row.timestamp == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert row.status == "Available"
