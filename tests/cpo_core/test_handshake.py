"""Connection admission before the WebSocket upgrade, and connection replacement."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core.server import OcppServer
from cpo_core.simulator import SimulatedStation
from hub.app import running_hub
from hub.context import HubContext
from hub.db.models import StationRow
from tests.conftest import free_port
from tests.cpo_core.factories import PASSWORD, eventually, seed_station

OCPP16 = [Subprotocol("ocpp1.6")]



async def station_row(ctx: HubContext, station_id: str) -> StationRow | None:
    async with ctx.sessionmaker() as session:
        return (await session.scalars(
            select(StationRow).where(StationRow.id == station_id))).first()


async def rejected_status(url: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, **kwargs):
            pass
    return info.value.response.status_code


async def test_unknown_station_and_wrong_path_get_404(hub_ctx, ocpp_url) -> None:
    assert await rejected_status(f"{ocpp_url}/NOPE-1", subprotocols=OCPP16) == 404
    assert await rejected_status(ocpp_url.replace("/ocpp", "/other/X"),
                                 subprotocols=OCPP16) == 404
    assert await station_row(hub_ctx, "NOPE-1") is None


async def test_password_required(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    url = f"{ocpp_url}/RIGA-001"
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, subprotocols=OCPP16):
            pass
    assert info.value.response.status_code == 401
    assert info.value.response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = {"Authorization": build_authorization_basic("RIGA-001", "wrong")}
    assert await rejected_status(url, subprotocols=OCPP16, additional_headers=wrong) == 401
    other_user = {"Authorization": build_authorization_basic("OTHER", PASSWORD)}
    assert await rejected_status(url, subprotocols=OCPP16, additional_headers=other_user) == 401
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        assert await st.boot() == "Accepted"


async def test_handshake_without_ocpp16_subprotocol_is_refused(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001", password=None)
    assert await rejected_status(f"{ocpp_url}/RIGA-001") == 400
    # ocpp2.0.1 is served on the same endpoint (issue 3); an unknown version is still refused.
    unknown = [Subprotocol("ocpp1.5")]
    assert await rejected_status(f"{ocpp_url}/RIGA-001", subprotocols=unknown) == 400


async def test_station_without_password_connects_and_boots(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-002", password=None)
    async with SimulatedStation(ocpp_url, "RIGA-002", None) as st:
        assert st.connection.subprotocol == "ocpp1.6"
        assert await st.boot() == "Accepted"
        row = await station_row(hub_ctx, "RIGA-002")
        assert row is not None and row.connected and row.vendor == "HubSim"
        assert row.last_boot_at is not None

    async def disconnected() -> bool:
        row = await station_row(hub_ctx, "RIGA-002")
        return row is not None and not row.connected

    assert await eventually(disconnected)


async def test_auto_register(make_settings) -> None:
    settings = await asyncio.to_thread(
        make_settings, ocpp={"host": "127.0.0.1", "port": free_port(), "auto_register": True})
    async with running_hub(settings) as ctx:
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with SimulatedStation(url, "NEW-STATION-9", None) as st:
            assert await st.boot() == "Accepted"
        row = await station_row(ctx, "NEW-STATION-9")
        assert row is not None and row.vendor == "HubSim" and row.password_hash is None


async def test_reconnect_replaces_the_old_connection(hub_ctx) -> None:
    settings = hub_ctx.settings.model_copy(
        update={"ocpp": hub_ctx.settings.ocpp.model_copy(update={"port": 0})})
    server = OcppServer(dataclasses.replace(hub_ctx, settings=settings))
    await server.start()
    try:
        assert server.port != 0
        url = f"ws://127.0.0.1:{server.port}/ocpp"
        await seed_station(hub_ctx, "RIGA-003", password=None)
        async with SimulatedStation(url, "RIGA-003", None) as first:
            await first.heartbeat()
            old = server.stations["RIGA-003"]
            async with SimulatedStation(url, "RIGA-003", None) as second:
                await first.connection.wait_closed()
                assert first.connection.close_code == 1000
                assert first.connection.close_reason == "replaced by a new connection"
                assert await second.heartbeat()
                assert server.stations["RIGA-003"] is not old
                row = await station_row(hub_ctx, "RIGA-003")
                assert row is not None and row.connected
        assert await eventually(lambda: _async(not server.is_connected("RIGA-003")))
    finally:
        await server.stop()


async def _async(value: bool) -> bool:
    return value
