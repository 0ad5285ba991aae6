"""chargingprofiles module, Receiver interface of our CPO (mod_charging_profiles): set, get and
clear a profile on a running session of a simulated OCPP 1.6 and 2.0.1 station; the results
reach the eMSP's response_url (a loopback server)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cpo_core.simulator import SimulatedStation
from cpo_core.simulator201 import SimulatedStation201
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow
from hub.services.tokens import upsert_token
from ocpi import schemas
from ocpi.chargingprofiles import profile_of
from ocpi.mappers import token_to_domain
from tests.cpo_core.factories import PASSWORD, eventually
from tests.ocpi.conftest import ocpi_call
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
