"""chargingprofiles module, Receiver interface of our CPO (mod_charging_profiles): set, get and
clear a profile on a running session of a simulated OCPP 1.6 and 2.0.1 station; the results
reach the eMSP's response_url (a loopback server). TOO_OFTEN, and updated ActiveChargingProfiles
PUT to the SCSP's Sender interface when the operator changes the station's limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import select

from cpo_core.simulator import SimulatedStation
from cpo_core.simulator201 import SimulatedStation201
from hub.cli.processes import free_port
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, OutboxRow
from hub.services.records import ACTIVE_PROFILE_KIND
from hub.services.tokens import upsert_token
from ocpi import schemas
from ocpi.chargingprofiles import profile_of
from ocpi.mappers import token_to_domain
from tests.cpo_core.factories import PASSWORD, eventually, seed_station
from tests.ocpi.conftest import fake_partner, ocpi_call
from tests.ocpi.journal_helpers import admin
from tests.ocpi.test_commands import TOKEN, Receiver, _has, _setup
from tests.ocpi.test_commands import emsp as emsp  # the fixture
from tests.ocpi.test_commands_reservations import ocpp_url, result_of

PROFILE = {"charging_rate_unit": "A", "min_charging_rate": 6,
           "charging_profile_period": [{"start_period": 0, "limit": 16},
                                       {"start_period": 600, "limit": 8.5}]}


async def _partner_token(hub: Any) -> None:
    async with transaction(hub.ctx.sessionmaker) as session:
        await upsert_token(session, token_to_domain(schemas.Token.model_validate(TOKEN)),
                           hub.ctx.clock())


async def _call(hub: Any, token: str, method: str, session_id: str, **kwargs: Any
                ) -> dict[str, Any]:
    res = await ocpi_call(method, f"{hub.url}/ocpi/cpo/2.2.1/chargingprofiles/{session_id}",
                          token, **kwargs)
    data: dict[str, Any] = res.json()
    return data


async def _pushed(emsp: Receiver) -> bool:
    return bool(emsp.sessions)


async def running_session(hub: Any, emsp: Receiver, st: Any) -> tuple[int, str]:
    """A session of the partner's token on the booted 1.6 station: (transaction, OCPI id)."""
    assert await st.boot() == "Accepted"
    tx, status = await st.start_transaction(1, TOKEN["uid"], 0)
    assert status == "Accepted"
    assert await eventually(lambda: _pushed(emsp))
    return tx, str(emsp.sessions[0]["id"])


async def _round_trip(hub: Any, token: str, emsp: Receiver, session_id: str) -> None:
    """PUT, GET, DELETE, DELETE again; the station-side checks are the caller's."""
    put = await _call(hub, token, "PUT", session_id, json={
        "charging_profile": PROFILE, "response_url": f"{emsp.url}/results/put"})
    assert put["data"] == {"result": "ACCEPTED", "timeout": 30}
    assert await eventually(lambda: _has(emsp.results, "put"))
    assert result_of(emsp, "put") == ["ACCEPTED"]

    get = await _call(hub, token, "GET", session_id, params={
        "duration": 900, "response_url": f"{emsp.url}/results/get"})
    assert get["data"]["result"] == "ACCEPTED"
    assert await eventually(lambda: _has(emsp.results, "get"))
    [active] = [r for r in emsp.results if r["n"] == "get"]
    assert active["result"] == "ACCEPTED"
    profile = active["profile"]["charging_profile"]
    assert profile["charging_rate_unit"] == "A" and profile["duration"] == 900
    assert profile["charging_profile_period"] == [{"start_period": 0, "limit": 16},
                                                  {"start_period": 600, "limit": 8.5}]
    assert active["profile"]["start_date_time"].endswith("Z")


async def _clear_twice(hub: Any, token: str, emsp: Receiver, session_id: str) -> None:
    for n in ("clear", "again"):
        answer = await _call(hub, token, "DELETE", session_id,
                             params={"response_url": f"{emsp.url}/results/{n}"})
        assert answer["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda n=n: _has(emsp.results, n))  # type: ignore[misc]
    assert result_of(emsp, "clear") == ["ACCEPTED"]
    assert result_of(emsp, "again") == ["UNKNOWN"]


async def test_profile_round_trip_on_ocpp16(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    await _partner_token(lv_hub)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        tx, session_id = await running_session(lv_hub, emsp, st)
        await _round_trip(lv_hub, token, emsp, session_id)
        [((connector, profile_id), sent)] = st.state.profiles.items()
        assert connector == 1 and sent["transaction_id"] == tx
        assert sent["charging_profile_purpose"] == "TxProfile"
        assert sent["charging_profile_kind"] == "Relative"
        async with lv_hub.ctx.sessionmaker() as session:
            stored = await profile_of(session, tx)
        assert stored is not None and stored["id"] == profile_id
        assert stored["status"] == "ACCEPTED"
        await _clear_twice(lv_hub, token, emsp, session_id)
        assert st.state.profiles == {}
        await st.stop_transaction(tx, 1000, TOKEN["uid"])
    ended = await _call(lv_hub, token, "PUT", session_id, json={
        "charging_profile": PROFILE, "response_url": f"{emsp.url}/results/late"})
    assert ended["data"]["result"] == "REJECTED"


async def test_profile_round_trip_on_ocpp201(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    await _partner_token(lv_hub)
    async with SimulatedStation201(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        tx, status = await st.start(1, TOKEN["uid"])
        assert status == "Accepted"
        assert await eventually(lambda: _pushed(emsp))
        session_id = emsp.sessions[0]["id"]
        await _round_trip(lv_hub, token, emsp, session_id)
        [sent] = st.profiles.values()
        assert sent["transaction_id"] == tx.transaction_id and sent["evse_id"] == 1
        assert sent["charging_profile_purpose"] == "TxProfile"
        assert sent["charging_schedule"][0]["min_charging_rate"] == 6
        await _clear_twice(lv_hub, token, emsp, session_id)
        assert st.profiles == {}


async def test_unknown_foreign_and_malformed(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    url = f"{emsp.url}/results/x"
    unknown = await _call(lv_hub, token, "PUT", "nope", json={
        "charging_profile": PROFILE, "response_url": url})
    assert unknown["data"]["result"] == "UNKNOWN_SESSION"
    unknown = await _call(lv_hub, token, "GET", "nope",
                          params={"duration": 60, "response_url": url})
    assert unknown["data"]["result"] == "UNKNOWN_SESSION"
    unknown = await _call(lv_hub, token, "DELETE", "nope", params={"response_url": url})
    assert unknown["data"]["result"] == "UNKNOWN_SESSION"

    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await st.start_transaction(1, "LOCAL-TAG", 0)  # not the caller's customer

    async def started() -> bool:
        async with lv_hub.ctx.sessionmaker() as session:
            return (await session.scalars(select(ChargingSessionRow.id))).first() is not None

    assert await eventually(started)
    async with lv_hub.ctx.sessionmaker() as session:
        foreign_id = (await session.scalars(select(ChargingSessionRow.session_id))).one()
    foreign = await _call(lv_hub, token, "PUT", foreign_id, json={
        "charging_profile": PROFILE, "response_url": url})
    assert foreign["data"]["result"] == "REJECTED"

    for broken in ({**PROFILE, "charging_rate_unit": "kW"},
                   {**PROFILE, "charging_profile_period": [{"start_period": 0,
                                                            "limit": 8.15}]},
                   {k: v for k, v in PROFILE.items() if k != "charging_rate_unit"}):
        bad = await _call(lv_hub, token, "PUT", "nope", json={
            "charging_profile": broken, "response_url": url})
        assert bad["status_code"] == 2001, broken
    not_json = await ocpi_call("PUT", f"{lv_hub.url}/ocpi/cpo/2.2.1/chargingprofiles/nope",
                               token, content=b"{not json")
    assert (not_json.status_code, not_json.json()["status_code"]) == (400, 2001)
    no_url = await _call(lv_hub, token, "PUT", "nope", json={"charging_profile": PROFILE})
    assert no_url["status_code"] == 2001
    no_duration = await _call(lv_hub, token, "GET", "nope", params={"response_url": url})
    assert no_duration["status_code"] == 2001
    ssrf = await _call(lv_hub, token, "DELETE", "nope",
                       params={"response_url": "http://169.254.169.254/x"})
    assert ssrf["status_code"] == 2001
    assert emsp.results == []  # nothing was accepted, so no result follows


async def test_listed_in_version_details_for_the_cpo_role(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    res = await ocpi_call("GET", f"{lv_hub.url}/ocpi/2.2.1", token)
    listed = [e for e in res.json()["data"]["endpoints"]
              if e["identifier"] == "chargingprofiles"]
    assert listed == [{"identifier": "chargingprofiles", "role": "RECEIVER",
                       "url": f"{lv_hub.url}/ocpi/cpo/2.2.1/chargingprofiles"}]


@pytest.fixture
async def scsp() -> AsyncIterator[Receiver]:
    """An eMSP/SCSP on loopback: results, sessions, CDRs and its chargingprofiles Sender
    interface (PUTs of ActiveChargingProfiles kept in ``rec.sessions`` as {"active": ...})."""
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}")
    app = FastAPI()
    ok = {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}

    @app.post("/results/{n}")
    async def result(n: str, request: Request) -> dict[str, Any]:
        rec.results.append({"n": n, **await request.json()})
        return ok

    @app.put("/sessions/{cc}/{pid}/{sid}")
    async def session(cc: str, pid: str, sid: str, request: Request) -> dict[str, Any]:
        rec.sessions.append(await request.json())
        return ok

    @app.post("/cdrs")
    async def cdr(request: Request) -> dict[str, Any]:
        return ok

    @app.put("/chargingprofiles/{sid}")
    async def active(sid: str, request: Request) -> dict[str, Any]:
        rec.results.append({"n": f"active-{sid}", **await request.json()})
        return ok

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield rec
    server.should_exit = True
    await task


OPERATOR = {"chargingProfileId": 900, "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}


async def _active_profile_rows(hub: Any) -> int:
    async with hub.ctx.sessionmaker() as session:
        return len((await session.scalars(select(OutboxRow.id).where(
            OutboxRow.kind == ACTIVE_PROFILE_KIND))).all())


def _actives(rec: Receiver, session_id: str) -> list[dict[str, Any]]:
    return [r for r in rec.results if r["n"] == f"active-{session_id}"]


async def test_too_often_and_active_profile_pushed_on_operator_change(
        lv_hub: Any, scsp: Receiver) -> None:
    await seed_station(lv_hub.ctx, "CMD-1", connectors=1)
    _, token = await fake_partner(lv_hub, endpoints=[
        {"identifier": "sessions", "role": "RECEIVER", "url": f"{scsp.url}/sessions"},
        {"identifier": "cdrs", "role": "RECEIVER", "url": f"{scsp.url}/cdrs"},
        {"identifier": "chargingprofiles", "role": "SENDER",
         "url": f"{scsp.url}/chargingprofiles"}])
    await _partner_token(lv_hub)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        _, session_id = await running_session(lv_hub, scsp, st)
        # No profile set through OCPI yet: the operator's change is not PUT (SHALL NOT).
        res = await admin(lv_hub, "POST", "/stations/CMD-1/charging-profiles",
                          json={"connector_id": 1, "profile": OPERATOR})
        assert res.json() == {"status": "Accepted"}
        res = await admin(lv_hub, "DELETE", "/stations/CMD-1/charging-profiles",
                          params={"profile_id": 900})
        assert res.json() == {"status": "Accepted"}
        assert await _active_profile_rows(lv_hub) == 0

        put = await _call(lv_hub, token, "PUT", session_id, json={
            "charging_profile": PROFILE, "response_url": f"{scsp.url}/results/put"})
        assert put["data"] == {"result": "ACCEPTED", "timeout": 30}
        again = await _call(lv_hub, token, "PUT", session_id, json={
            "charging_profile": PROFILE, "response_url": f"{scsp.url}/results/again"})
        assert again["data"]["result"] == "TOO_OFTEN"
        get = await _call(lv_hub, token, "GET", session_id, params={
            "duration": 900, "response_url": f"{scsp.url}/results/get"})
        assert get["data"]["result"] == "ACCEPTED"  # another method: its own interval
        get_again = await _call(lv_hub, token, "GET", session_id, params={
            "duration": 900, "response_url": f"{scsp.url}/results/get2"})
        assert get_again["data"]["result"] == "TOO_OFTEN"
        assert await eventually(lambda: _has(scsp.results, "put"))
        assert result_of(scsp, "put") == ["ACCEPTED"]

        # The operator clears every profile of the connector: no schedule left, so the
        # ActiveChargingProfile shows the EVSE's maximum (32 A).
        res = await admin(lv_hub, "DELETE", "/stations/CMD-1/charging-profiles",
                          params={"connector_id": 1})
        assert res.json() == {"status": "Accepted"} and st.state.profiles == {}
        assert await eventually(lambda: _bool(len(_actives(scsp, session_id)) == 1))
        [cleared] = _actives(scsp, session_id)
        assert cleared["charging_profile"] == {
            "charging_rate_unit": "A", "duration": 900,
            "charging_profile_period": [{"start_period": 0, "limit": 32}]}
        assert cleared["start_date_time"].endswith("Z")

        # The operator sets a limit of its own: the station's composite schedule is PUT.
        res = await admin(lv_hub, "POST", "/stations/CMD-1/charging-profiles",
                          json={"connector_id": 1, "profile": OPERATOR})
        assert res.json() == {"status": "Accepted"}
        assert await eventually(lambda: _bool(len(_actives(scsp, session_id)) == 2))
        operator = _actives(scsp, session_id)[1]["charging_profile"]
        assert operator["charging_rate_unit"] == "A" and operator["duration"] == 900
        assert operator["charging_profile_period"] == [{"start_period": 0, "limit": 10}]
    [entry] = [e for e in (await admin(lv_hub, "GET", "/ocpi/commands")).json()
               if e["response"] == "TOO_OFTEN" and e["command"] == "PUT"]
    assert entry["status"] == "ANSWERED" and entry["request"]["session_id"] == session_id
    assert not _has_now(scsp, "again") and not _has_now(scsp, "get2")


async def _bool(value: bool) -> bool:
    return value


def _has_now(rec: Receiver, n: str) -> bool:
    return any(r["n"] == n for r in rec.results)


async def test_no_limit_when_the_interval_is_zero(make_settings: Any, start_hub: Any,
                                                  scsp: Receiver) -> None:
    settings = await asyncio.to_thread(make_settings, ocpi={
        "allowed_hosts": ["*.test"], "profile_min_interval_seconds": 0})
    hub = await start_hub(settings)
    await seed_station(hub.ctx, "CMD-1", connectors=1)
    _, token = await fake_partner(hub, endpoints=[
        {"identifier": "sessions", "role": "RECEIVER", "url": f"{scsp.url}/sessions"},
        {"identifier": "cdrs", "role": "RECEIVER", "url": f"{scsp.url}/cdrs"}])
    await _partner_token(hub)
    async with SimulatedStation(ocpp_url(hub), "CMD-1", PASSWORD) as st:
        _, session_id = await running_session(hub, scsp, st)
        for n in ("one", "two"):
            put = await _call(hub, token, "PUT", session_id, json={
                "charging_profile": PROFILE, "response_url": f"{scsp.url}/results/{n}"})
            assert put["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has(scsp.results, "two"))
