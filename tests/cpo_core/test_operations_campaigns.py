"""Firmware campaigns, diagnostics uploads, station errors and timeouts, remote start window."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core.handlers.operations import link_remote_start
from cpo_core.simulator import SimulatedStation
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcppRemoteStartRow
from hub.domain import AllowedType, AuthorizationResult
from hub.services import charging
from tests.conftest import LiveHub, free_port
from tests.cpo_core.factories import PASSWORD, eventually, seed_station


def ocpp_url(hub: LiveHub) -> str:
    return f"ws://127.0.0.1:{hub.ctx.components['ocpp'].port}/ocpp"


@pytest.fixture
async def live(make_settings, start_hub) -> AsyncIterator[tuple[LiveHub, httpx.AsyncClient]]:
    settings = await asyncio.to_thread(make_settings, ocpp={
        "host": "127.0.0.1", "port": free_port(), "call_timeout": 1.0})
    hub = await start_hub(settings)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin", timeout=10) as admin:
        yield hub, admin


async def target_status(admin: httpx.AsyncClient, campaign_id: int, station_id: str) -> str:
    campaign = (await admin.get(f"/firmware-campaigns/{campaign_id}")).json()
    return next(t["status"] for t in campaign["stations"] if t["station_id"] == station_id)


async def test_firmware_campaign_reaches_matching_stations(live) -> None:
    hub, admin = live
    for sid in ("FW-1", "FW-2", "FW-OTHER"):
        await seed_station(hub.ctx, sid)
    async with SimulatedStation(ocpp_url(hub), "FW-1", PASSWORD) as one, \
            SimulatedStation(ocpp_url(hub), "FW-OTHER", PASSWORD, vendor="Else") as other:
        await one.boot()
        await other.boot()
        async with SimulatedStation(ocpp_url(hub), "FW-2", PASSWORD) as two:
            await two.boot()  # vendor/model are learnt from the boot
        res = await admin.post("/firmware-campaigns", json={
            "vendor": "hubsim", "model": "Sim-2", "location": "https://fw.example/sim-2.bin"})
        assert res.status_code == 201
        campaign = res.json()
        assert [t["station_id"] for t in campaign["stations"]] == ["FW-1", "FW-2"]
        assert await target_status(admin, campaign["id"], "FW-2") == "NotConnected"

        async def installed() -> bool:
            return await target_status(admin, campaign["id"], "FW-1") == "Installed"

        assert await eventually(installed)
        async with SimulatedStation(ocpp_url(hub), "FW-2", PASSWORD) as two:
            two.state.firmware_outcome = "DownloadFailed"
            await two.boot()
            resent = (await admin.post(f"/firmware-campaigns/{campaign['id']}/send")).json()
            assert resent["counts"].get("NotConnected") is None

            async def failed() -> bool:
                return await target_status(admin, campaign["id"], "FW-2") == "DownloadFailed"

            assert await eventually(failed)
    listed = (await admin.get("/firmware-campaigns")).json()
    assert listed[0]["counts"] == {"Installed": 1, "DownloadFailed": 1}
    ops = (await admin.get("/stations/FW-1/operations")).json()
    assert ops["firmware_status"] == "Installed"
    none = await admin.post("/firmware-campaigns", json={"vendor": "Nobody",
                                                          "location": "https://x/y"})
    assert none.status_code == 422


@pytest.mark.parametrize("multipart", [False, True])
async def test_diagnostics_upload_to_the_hub(live, multipart: bool) -> None:
    hub, admin = live
    await seed_station(hub.ctx, "DIAG-1")
    async with SimulatedStation(ocpp_url(hub), "DIAG-1", PASSWORD) as st:
        await st.boot()
        st.state.upload_multipart = multipart
        res = await admin.post("/stations/DIAG-1/diagnostics", json={})
        assert res.status_code == 200
        answer = res.json()
        assert answer["fileName"] == "diagnostics-DIAG-1.log"
        location = st.state.diagnostics_locations[-1]
        assert location.startswith(f"{hub.url}/ocpp-uploads/")

        async def uploaded() -> bool:
            ops = (await admin.get("/stations/DIAG-1/operations")).json()
            return ops["diagnostics_status"] == "Uploaded"

        assert await eventually(uploaded)
    [upload] = (await admin.get("/uploads", params={"station_id": "DIAG-1"})).json()
    assert upload["id"] == answer["uploadId"] and upload["status"] == "Uploaded"
    assert upload["size"] == len(st.state.diagnostics)
    assert upload["file_name"].endswith("diagnostics-DIAG-1.log")
    content = await admin.get(f"/uploads/{upload['id']}/file")
    assert content.content == st.state.diagnostics
    async with httpx.AsyncClient() as client:
        again = await client.put(f"{location}/x.log", content=b"second")
        unknown = await client.post(f"{hub.url}/ocpp-uploads/not-a-token", content=b"x")
    assert again.status_code == 410 and unknown.status_code == 404


async def raw_station(hub: LiveHub, station_id: str) -> ClientConnection:
    ws = await connect(f"{ocpp_url(hub)}/{station_id}", subprotocols=[Subprotocol("ocpp1.6")],
                       additional_headers={"Authorization": build_authorization_basic(
                           station_id, PASSWORD)})

    async def registered() -> bool:
        return station_id in hub.ctx.components["ocpp"].stations

    assert await eventually(registered)
    return ws


async def test_station_call_error_is_502_and_silence_is_504(live) -> None:
    hub, admin = live
    await seed_station(hub.ctx, "RAW-1")
    async with await raw_station(hub, "RAW-1") as ws:
        async def answer_with_error() -> None:
            frame = json.loads(await ws.recv())
            await ws.send(json.dumps([4, frame[1], "InternalError", "boom", {}]))

        answering = asyncio.create_task(answer_with_error())
        res = await admin.post("/stations/RAW-1/unlock", json={"connector_id": 1})
        await answering
        assert res.status_code == 502 and "InternalError" in res.json()["detail"]
        silent = await admin.post("/stations/RAW-1/reset", json={"type": "Soft"})
        assert silent.status_code == 504 and "did not answer" in silent.json()["detail"]


async def test_remote_start_links_only_within_the_window(hub_ctx: HubContext) -> None:
    await seed_station(hub_ctx, "WIN-1")
    now = datetime.now(UTC)
    allowed = AuthorizationResult(AllowedType.ALLOWED, None, source="local")
    async with transaction(hub_ctx.sessionmaker) as session:
        stale = OcppRemoteStartRow(station_id="WIN-1", connector_id=None, id_tag="tag-1",
                                   status="Accepted", requested_at=now - timedelta(minutes=5))
        fresh = OcppRemoteStartRow(station_id="WIN-1", connector_id=2, id_tag="TAG-1",
                                   status="Accepted", requested_at=now - timedelta(seconds=30))
        other_connector = OcppRemoteStartRow(station_id="WIN-1", connector_id=1,
                                             id_tag="TAG-1", status="Accepted",
                                             requested_at=now - timedelta(seconds=10))
        session.add_all([stale, fresh, other_connector])
        started = now - timedelta(seconds=5)
        tx = await charging.start_transaction(
            session, station_id="WIN-1", connector=2, id_tag="tag-1",
            meter_start_wh=Decimal(0), timestamp=started, authorization=allowed, now=now)
    async with transaction(hub_ctx.sessionmaker) as session:
        linked = await link_remote_start(session, "WIN-1", 2, "tag-1", started, now)
        assert linked == tx.session_id
        # The retransmitted StartTransaction links nothing more.
        assert await link_remote_start(session, "WIN-1", 2, "tag-1", started, now) is None
    async with hub_ctx.sessionmaker() as session:
        rows = {r.id: r for r in [await session.get(OcppRemoteStartRow, x.id)
                                  for x in (stale, fresh, other_connector)] if r}
    assert rows[fresh.id].session_id == tx.session_id
    assert rows[stale.id].session_id is None and rows[other_connector.id].session_id is None
