"""The ChargePoint base class: follow-ups after the reply, strict outbound payloads."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ocpp.exceptions import FormationViolationError, NotSupportedError
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.typing import Subprotocol

from cpo_core.base import OcppChargePoint, parse_timestamp
from tests.conftest import free_port

OCPP16 = [Subprotocol("ocpp1.6")]


class Central(OcppChargePoint):
    answers: list[str]

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        async def ask_back() -> None:
            # Calling the station from inside @on would deadlock until the timeout.
            res = await self.call(call.GetConfiguration(key=["HeartbeatInterval"]))
            self.answers.append(res.configuration_key[0]["value"])

        self.after_reply(ask_back)
        return call_result.Heartbeat(current_time="2026-01-01T00:00:00Z")


class Station(OcppChargePoint):
    @on(Action.get_configuration)
    async def on_get_configuration(self, **_) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}])


async def test_follow_up_runs_after_the_reply_and_may_call_the_station() -> None:
    answers: list[str] = []
    done = asyncio.Event()

    async def handler(ws) -> None:
        central = Central("ST", ws)
        central.answers = answers
        with contextlib.suppress(Exception):
            await central.start()

    port = free_port()
    async with serve(handler, "127.0.0.1", port, subprotocols=OCPP16), \
            connect(f"ws://127.0.0.1:{port}", subprotocols=OCPP16) as ws:
        station = Station("ST", ws, response_timeout=5)
        task = asyncio.create_task(station.start())
        res = await station.call(call.Heartbeat())
        assert res.current_time == "2026-01-01T00:00:00Z"
        for _ in range(250):
            if answers:
                done.set()
                break
            await asyncio.sleep(0.02)
        task.cancel()
    assert done.is_set() and answers == ["300"]


async def test_call_raises_on_call_error_and_refuses_decimals() -> None:
    async def handler(ws) -> None:
        with contextlib.suppress(Exception):
            await OcppChargePoint("ST", ws).start()  # no handlers at all

    port = free_port()
    async with serve(handler, "127.0.0.1", port, subprotocols=OCPP16), \
            connect(f"ws://127.0.0.1:{port}", subprotocols=OCPP16) as ws:
        station = OcppChargePoint("ST", ws, response_timeout=5)
        task = asyncio.create_task(station.start())
        with pytest.raises(NotSupportedError):
            await station.call(call.Heartbeat())
        with pytest.raises(TypeError):
            await station.call(call.DataTransfer(vendor_id="x", data=Decimal("1.25")))
        task.cancel()


def test_parse_timestamp() -> None:
    assert parse_timestamp("2026-03-01T12:00:00+02:00", "t", station_id="S") == \
        datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_timestamp("2026-03-01T10:00:00Z", "t", station_id="S").tzinfo is UTC
    assert parse_timestamp("2026-03-01T10:00:00", "t", station_id="S") == \
        datetime(2026, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(FormationViolationError):
        parse_timestamp("01.03.2026 10:00", "t", station_id="S")


def test_route_maps_are_the_librarys() -> None:
    """cpo_core.base finds a class's routes once; each connection gets the same map the
    library would build (bound to that connection)."""
    from cpo_core import base
    from cpo_core.central import StationConnection
    from cpo_core.simulator201_handlers import StationHandlers201
    from cpo_core.v201 import StationConnection201

    for cls in (StationConnection, StationConnection201, StationHandlers201):
        first, second = cls.__new__(cls), cls.__new__(cls)
        for obj in (first, second):
            ours, library = base.create_route_map(obj), base._library_create_route_map(obj)
            assert ours == library and len(ours) > 5
            assert all(hooks["_on_action"].__self__ is obj for hooks in ours.values()
                       if "_on_action" in hooks)
