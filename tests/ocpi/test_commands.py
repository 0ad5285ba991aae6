"""OCPI commands Receiver for our own stations (mod_commands): a simulated OCPP 1.6 station on
our hub, an eMSP partner whose response_url and sessions Receiver are a loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from cpo_core.simulator import SimulatedStation
from hub.cli.processes import free_port
from tests.cpo_core.factories import PASSWORD, eventually, seed_station
from tests.ocpi.conftest import fake_partner, ocpi_call

TOKEN = {"country_code": "EE", "party_id": "ELM", "uid": "EE0000CMD1", "type": "APP_USER",
         "contract_id": "EE-ELM-CMD1", "issuer": "Elmo", "valid": True,
         "whitelist": "ALLOWED", "last_updated": "2026-01-01T00:00:00Z"}


@dataclass
class Receiver:
    url: str
    results: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def emsp() -> AsyncIterator[Receiver]:
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}")
    app = FastAPI()

    @app.post("/results/{n}")
    async def result(n: str, request: Request) -> dict[str, Any]:
        rec.results.append({"n": n, **await request.json()})
        return {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}

    @app.put("/sessions/{cc}/{pid}/{sid}")
    async def session(cc: str, pid: str, sid: str, request: Request) -> dict[str, Any]:
        rec.sessions.append(await request.json())
        return {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}

    @app.post("/cdrs")
    async def cdr(request: Request) -> dict[str, Any]:
        return {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield rec
    server.should_exit = True
    await task


async def _setup(hub: Any, emsp: Receiver) -> str:
    await seed_station(hub.ctx, "CMD-1", connectors=1)
    _, token = await fake_partner(hub, endpoints=[
        {"identifier": "sessions", "role": "RECEIVER", "url": f"{emsp.url}/sessions"},
        {"identifier": "cdrs", "role": "RECEIVER", "url": f"{emsp.url}/cdrs"}])
    return str(token)


async def _command(hub: Any, token: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
    res = await ocpi_call("POST", f"{hub.url}/ocpi/cpo/2.2.1/commands/{command}", token,
                          json=body)
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()
    return data


async def test_start_and_stop_session_on_our_station(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    url = f"ws://127.0.0.1:{lv_hub.ctx.components['ocpp'].port}/ocpp"
    async with SimulatedStation(url, "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        answer = await _command(lv_hub, token, "START_SESSION", {
            "response_url": f"{emsp.url}/results/start", "token": TOKEN,
            "location_id": "LOC-RIGA-1", "evse_uid": "CMD-1-1"})
        assert answer["status_code"] == 1000 and answer["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has(emsp.results, "start"))
        assert emsp.results[0]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has_session(emsp, "ACTIVE"))
        session_id = emsp.sessions[0]["id"]
        assert emsp.sessions[0]["cdr_token"]["uid"] == TOKEN["uid"]

        answer = await _command(lv_hub, token, "STOP_SESSION", {
            "response_url": f"{emsp.url}/results/stop", "session_id": session_id})
        assert answer["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has(emsp.results, "stop"))
        assert [r["result"] for r in emsp.results if r["n"] == "stop"] == ["ACCEPTED"]
        assert await eventually(lambda: _has_session(emsp, "COMPLETED"))

    unknown = await _command(lv_hub, token, "STOP_SESSION", {
        "response_url": f"{emsp.url}/results/x", "session_id": "nope"})
    assert unknown["data"]["result"] == "UNKNOWN_SESSION"


async def _has(results: list[dict[str, Any]], n: str) -> bool:
    return any(r["n"] == n for r in results)


async def _has_session(emsp: Receiver, status: str) -> bool:
    return any(s["status"] == status for s in emsp.sessions)


async def test_unlock_unknown_evse_offline_station_and_bad_url(lv_hub: Any,
                                                               emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    unknown = await _command(lv_hub, token, "UNLOCK_CONNECTOR", {
        "response_url": f"{emsp.url}/results/u", "location_id": "LOC-RIGA-1",
        "evse_uid": "NO-SUCH-EVSE", "connector_id": "1"})
    assert unknown["data"]["result"] == "REJECTED"

    offline = await _command(lv_hub, token, "UNLOCK_CONNECTOR", {
        "response_url": f"{emsp.url}/results/off", "location_id": "LOC-RIGA-1",
        "evse_uid": "CMD-1-1", "connector_id": "1"})
    assert offline["data"]["result"] == "ACCEPTED"  # the station is asked afterwards
    assert await eventually(lambda: _has(emsp.results, "off"))
    assert [r["result"] for r in emsp.results] == ["EVSE_INOPERATIVE"]

    refused = await _command(lv_hub, token, "START_SESSION", {
        "response_url": "http://169.254.169.254/latest", "token": TOKEN,
        "location_id": "LOC-RIGA-1"})
    assert refused["status_code"] == 2001
    reserve = await _command(lv_hub, token, "RESERVE_NOW", {
        "response_url": f"{emsp.url}/results/r"})
    assert reserve["status_code"] == 2001  # a ReserveNow without its required fields
