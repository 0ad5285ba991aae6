"""Hub routing between third parties (issue 5, item 3): the hub on loopback with three fake
partner platforms (small real HTTP servers): EE*ELM (eMSP), BE*BEC (CPO), LT*LTE (eMSP).

Direct routing with headers on each leg, 4001/4002/4003, the agreement deny path, open routing
(authorize by token index and contract-id prefix), broadcast push with EVSE status de-dup, and
GET all via the hub."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import select, update

from hub.db.base import transaction
from hub.db.models import OcpiPartnerLocationRow, OutboxRow, PartnerRow
from ocpi.agreements import set_agreement
from ocpi.encoding import dumps, loads
from tests.conftest import free_port
from tests.ocpi.conftest import fake_partner, ocpi_call
from tests.ocpi.journal_helpers import journal
from tests.ocpi.test_delivery import wait_delivered
from tests.ocpi.test_locations import seed_locations

EXAMPLES = Path(__file__).parent / "examples"
HUB_PARTIES = [
    {"country_code": "LV", "party_id": "BIM", "role": "CPO", "name": "Latvian network"},
    {"country_code": "LV", "party_id": "BIE", "role": "EMSP", "name": "Latvian eMSP"},
    {"country_code": "LV", "party_id": "HUB", "role": "HUB", "name": "Latvian hub"},
]
TO_HUB = {"OCPI-to-country-code": "LV", "OCPI-to-party-id": "HUB"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass
class Platform:
    """A partner platform: answers every request with an OCPI success (or a canned reply)."""

    name: str
    port: int = field(default_factory=free_port)
    received: list[Seen] = field(default_factory=list)
    replies: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.url}/ocpi/2.2.1"

    def endpoints(self) -> list[dict[str, str]]:
        b = self.base
        return [
            {"identifier": "locations", "role": "SENDER", "url": f"{b}/cpo/locations"},
            {"identifier": "locations", "role": "RECEIVER", "url": f"{b}/emsp/locations"},
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{b}/emsp/tariffs"},
            {"identifier": "tokens", "role": "SENDER", "url": f"{b}/emsp/tokens"},
            {"identifier": "tokens", "role": "RECEIVER", "url": f"{b}/cpo/tokens"},
            {"identifier": "commands", "role": "RECEIVER", "url": f"{b}/cpo/commands"},
            {"identifier": "cdrs", "role": "RECEIVER", "url": f"{b}/emsp/cdrs"},
        ]

    def seen(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.received if s.method == method and s.path == path]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def anything(path: str, request: Request) -> Response:
            raw = await request.body()
            self.received.append(Seen(request.method, "/" + path, dict(request.headers),
                                      dict(request.query_params),
                                      loads(raw) if raw else None))
            key = f"{request.method} /{path}"
            if key in self.hang:
                await self.release.wait()
            status, body, headers = self.replies.get(key, (200, {
                "status_code": 1000, "data": {"platform": self.name, "path": "/" + path},
                "timestamp": "2026-01-01T00:00:00Z"}, {}))
            return Response(json.dumps(body), status, headers=headers,
                            media_type="application/json")

        return app


@dataclass
class Net:
    hub: Any
    ee: Platform
    be: Platform
    lt: Platform
    ids: dict[str, int]  # platform name -> partner id at the hub
    tokens: dict[str, str]  # platform name -> the token it presents to the hub

    async def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        return await ocpi_call(method, f"{self.hub.url}/ocpi{path}", self.tokens[who],
                               **kwargs)


@pytest.fixture(name="net")
async def net_fixture(make_settings: Any, start_hub: Any) -> Any:
    settings = await asyncio.to_thread(
        make_settings, parties=HUB_PARTIES,
        ocpi={"allowed_hosts": ["*.test"], "request_timeout": 3.0})
    hub = await start_hub(settings)
    platforms = {"ee": Platform("ee"), "be": Platform("be"), "lt": Platform("lt")}
    servers = []
    for p in platforms.values():
        server = uvicorn.Server(uvicorn.Config(p.app(), host="127.0.0.1", port=p.port,
                                               log_level="warning", lifespan="off"))
        servers.append((server, asyncio.create_task(server.serve())))
        while not server.started:
            await asyncio.sleep(0.01)
    ids, tokens = {}, {}
    for name, parties in (("ee", [("EE", "ELM", "EMSP")]), ("be", [("BE", "BEC", "CPO")]),
                          ("lt", [("LT", "LTE", "EMSP")])):
        ids[name], tokens[name] = await fake_partner(
            hub, parties, platforms[name].endpoints(), token_out=f"out-{name}")
    yield Net(hub, platforms["ee"], platforms["be"], platforms["lt"], ids, tokens)
    for p in platforms.values():
        p.release.set()
    for server, task in servers:
        server.should_exit = True
        await task


def route(frm: tuple[str, str], to: tuple[str, str] | None, **extra: str) -> dict[str, str]:
    headers = {"OCPI-from-country-code": frm[0], "OCPI-from-party-id": frm[1], **extra}
    if to is not None:
        headers.update({"OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]})
    return headers


def b64(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


# -- direct routing ----------------------------------------------------------------------------


async def test_direct_request_is_forwarded_with_headers_on_each_leg(net: Net) -> None:
    headers = route(("EE", "ELM"), ("BE", "BEC"), **{"X-Request-ID": "req-a",
                                                    "X-Correlation-ID": "corr-a"})
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/LOC1/3256", headers=headers,
                       params={"x": "1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status_code"] == 1000
    assert body["data"] == {"platform": "be", "path": "/ocpi/2.2.1/cpo/locations/LOC1/3256"}
    # Answer to A: its own request id, the same correlation id, FROM/TO swapped.
    assert r.headers["X-Request-ID"] == "req-a" and r.headers["X-Correlation-ID"] == "corr-a"
    assert (r.headers["OCPI-from-country-code"], r.headers["OCPI-from-party-id"]) == \
        ("BE", "BEC")
    assert (r.headers["OCPI-to-country-code"], r.headers["OCPI-to-party-id"]) == ("EE", "ELM")
    # The leg to B: a new request id, the same correlation id, A's routing headers, B's token.
    [leg] = net.be.seen("GET", "/ocpi/2.2.1/cpo/locations/LOC1/3256")
    assert leg.headers["x-request-id"] not in ("", "req-a")
    assert leg.headers["x-correlation-id"] == "corr-a"
    assert (leg.headers["ocpi-from-country-code"], leg.headers["ocpi-from-party-id"]) == \
        ("EE", "ELM")
    assert (leg.headers["ocpi-to-country-code"], leg.headers["ocpi-to-party-id"]) == \
        ("BE", "BEC")
    assert leg.headers["authorization"] == b64("out-be") and leg.query == {"x": "1"}
    entries = await journal(net.hub, correlation_id="corr-a")
    legs = {(e["direction"], e["partner_id"]) for e in entries}
    assert legs == {("in", net.ids["ee"]), ("out", net.ids["be"])}
    assert {e["request_id"] for e in entries if e["direction"] == "in"} == {"req-a"}


async def test_direct_push_keeps_the_body_and_last_updated(net: Net) -> None:
    loc = loads((EXAMPLES / "location_example.json").read_bytes())
    r = await net.call("be", "PUT", "/emsp/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                       headers=route(("BE", "BEC"), ("EE", "ELM")))
    assert r.json()["status_code"] == 1000
    [leg] = net.ee.seen("PUT", "/ocpi/2.2.1/emsp/locations/BE/BEC/LOC1")
    assert leg.body["last_updated"] == loc["last_updated"] == "2015-06-29T20:39:09Z"
    assert leg.body["evses"][0]["uid"] == "3256"
    async with transaction(net.hub.ctx.sessionmaker) as session:  # forwarded, not stored
        assert (await session.scalars(select(OcpiPartnerLocationRow))).first() is None


async def test_receiver_errors_are_passed_back(net: Net) -> None:
    net.be.replies["GET /ocpi/2.2.1/cpo/locations/NOPE"] = (
        404, {"status_code": 2003, "status_message": "unknown location",
              "timestamp": "2026-01-01T00:00:00Z"}, {})
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/NOPE",
                       headers=route(("EE", "ELM"), ("BE", "BEC")))
    assert r.status_code == 404 and r.json()["status_code"] == 2003


async def test_unknown_receiver_is_4001(net: Net) -> None:
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/LOC1",
                       headers=route(("EE", "ELM"), ("XX", "NOP")))
    assert r.status_code == 200 and r.json()["status_code"] == 4001
    assert net.be.received == []


async def test_receiver_timeout_is_4002(net: Net) -> None:
    net.be.hang.add("GET /ocpi/2.2.1/cpo/locations/SLOW")
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/SLOW",
                       headers=route(("EE", "ELM"), ("BE", "BEC"), **{
                           "X-Correlation-ID": "corr-slow"}))
    assert r.status_code == 200 and r.json()["status_code"] == 4002
    entries = await journal(net.hub, correlation_id="corr-slow")
    assert {e["direction"] for e in entries} == {"in", "out"}
    assert [e["status_code"] for e in entries if e["direction"] == "in"] == [4002]


async def test_unreachable_or_offline_receiver_is_4003(net: Net) -> None:
    dead = f"http://127.0.0.1:{free_port()}/ocpi/2.2.1/cpo/locations"
    await fake_partner(net.hub, [("FI", "DED", "CPO")],
                       [{"identifier": "locations", "role": "SENDER", "url": dead}])
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/LOC1",
                       headers=route(("EE", "ELM"), ("FI", "DED")))
    assert r.status_code == 200 and r.json()["status_code"] == 4003
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await session.execute(update(PartnerRow).where(PartnerRow.id == net.ids["be"])
                              .values(status="OFFLINE"))
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/LOC1",
                       headers=route(("EE", "ELM"), ("BE", "BEC")))
    assert r.json()["status_code"] == 4003 and net.be.received == []


async def test_agreement_deny_and_foreign_from_party_are_refused(net: Net) -> None:
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await set_agreement(session, net.ids["be"], "locations", False)
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/LOC1",
                       headers=route(("EE", "ELM"), ("BE", "BEC")))
    assert r.status_code == 403 and r.json()["status_code"] == 2000
    assert "receiver" in r.json()["status_message"]
    # A caller may only speak for its own parties.
    r = await net.call("ee", "GET", "/cpo/2.2.1/tariffs",
                       headers=route(("LT", "LTE"), ("BE", "BEC")))
    assert r.status_code == 403 and r.json()["status_code"] == 2000
    assert net.be.received == []


async def test_requests_to_our_own_parties_stay_local(net: Net) -> None:
    await seed_locations(net.hub, 1)
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations/LOC0",
                       headers=route(("EE", "ELM"), ("LV", "BIM")))
    assert r.json()["data"]["id"] == "LOC0" and net.be.received == []


# -- open routing ------------------------------------------------------------------------------


async def test_open_routing_authorize_by_token_index_and_contract_prefix(net: Net) -> None:
    token = {"country_code": "EE", "party_id": "ELM", "uid": "EE0001", "type": "RFID",
             "contract_id": "EE-ELM-C00001", "issuer": "Elmo", "valid": True,
             "whitelist": "ALLOWED", "last_updated": "2026-01-01T00:00:00Z"}
    r = await net.call("ee", "PUT", "/cpo/2.2.1/tokens/EE/ELM/EE0001", content=dumps(token),
                       headers=route(("EE", "ELM"), ("LV", "BIM")))
    assert r.status_code == 201
    net.ee.replies["POST /ocpi/2.2.1/emsp/tokens/EE0001/authorize"] = (200, {
        "status_code": 1000, "data": {"allowed": "ALLOWED", "token": token},
        "timestamp": "2026-01-01T00:00:00Z"}, {})
    r = await net.call("be", "POST", "/emsp/2.2.1/tokens/EE0001/authorize",
                       json={"location_id": "LOC1"}, headers=route(("BE", "BEC"), None))
    assert r.json()["data"]["allowed"] == "ALLOWED"
    assert (r.headers["OCPI-from-country-code"], r.headers["OCPI-from-party-id"]) == \
        ("EE", "ELM")
    [leg] = net.ee.seen("POST", "/ocpi/2.2.1/emsp/tokens/EE0001/authorize")
    assert (leg.headers["ocpi-to-country-code"], leg.headers["ocpi-to-party-id"]) == \
        ("EE", "ELM")
    assert leg.headers["ocpi-from-party-id"] == "BEC" and leg.body == {"location_id": "LOC1"}
    # Not pushed, but its EMAID prefix names EE*ELM.
    r = await net.call("be", "POST", "/emsp/2.2.1/tokens/EE-ELM-C00077/authorize",
                       headers=route(("BE", "BEC"), None), params={"type": "APP_USER"})
    assert r.json()["status_code"] == 1000
    [leg] = net.ee.seen("POST", "/ocpi/2.2.1/emsp/tokens/EE-ELM-C00077/authorize")
    assert leg.query == {"type": "APP_USER"}
    # Unknown everywhere: our own eMSP answers (unknown token), nothing is forwarded.
    r = await net.call("be", "POST", "/emsp/2.2.1/tokens/ZZ/authorize",
                       headers=route(("BE", "BEC"), None))
    assert r.status_code == 404 and r.json()["status_code"] == 2004
    assert len(net.ee.received) == 2 and net.lt.received == []
    assert net.be.seen("PUT", "/ocpi/2.2.1/cpo/tokens/EE/ELM/EE0001") == []  # to us only


async def test_token_broadcast_reaches_cpos_only(net: Net) -> None:
    token = {"country_code": "EE", "party_id": "ELM", "uid": "EE0002", "type": "RFID",
             "contract_id": "EE-ELM-C00002", "issuer": "Elmo", "valid": True,
             "whitelist": "ALLOWED", "last_updated": "2026-01-01T00:00:00Z"}
    r = await net.call("ee", "PUT", "/cpo/2.2.1/tokens/EE/ELM/EE0002", content=dumps(token),
                       headers=route(("EE", "ELM"), ("LV", "HUB")))
    assert r.status_code == 201
    await wait_delivered(net.hub, 1)
    [leg] = net.be.seen("PUT", "/ocpi/2.2.1/cpo/tokens/EE/ELM/EE0002")
    assert leg.body == token and leg.headers["ocpi-to-party-id"] == "BEC"
    assert net.lt.received == [] and net.ee.received == []


async def test_open_routing_command_goes_to_the_cpo_of_the_location(net: Net) -> None:
    loc = loads((EXAMPLES / "location_example.json").read_bytes())
    r = await net.call("be", "PUT", "/emsp/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                       headers=route(("BE", "BEC"), ("LV", "BIE")))  # to our eMSP: stored
    assert r.status_code == 201 and await _outbox(net.hub) == []
    command = {"response_url": f"{net.ee.url}/ocpi/2.2.1/emsp/commands/UNLOCK/1",
               "location_id": "LOC1", "evse_uid": "3256", "connector_id": "1"}
    r = await net.call("ee", "POST", "/cpo/2.2.1/commands/UNLOCK_CONNECTOR", json=command,
                       headers=route(("EE", "ELM"), None))
    assert r.json()["status_code"] == 1000
    [leg] = net.be.seen("POST", "/ocpi/2.2.1/cpo/commands/UNLOCK_CONNECTOR")
    assert (leg.headers["ocpi-to-country-code"], leg.headers["ocpi-to-party-id"]) == \
        ("BE", "BEC")
    assert leg.body["response_url"].startswith(f"{net.hub.url}/ocpi/proxy/")
    assert leg.body["evse_uid"] == "3256"


# -- broadcast push ----------------------------------------------------------------------------


async def _outbox(hub: Any) -> list[OutboxRow]:
    async with transaction(hub.ctx.sessionmaker) as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_broadcast_push_fans_out_and_skips_unchanged_evse_status(net: Net) -> None:
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await set_agreement(session, net.ids["lt"], "tariffs", False)
    loc = loads((EXAMPLES / "location_example.json").read_bytes())
    base = "/emsp/2.2.1/locations/BE/BEC/LOC1"
    r = await net.call("be", "PUT", base, content=dumps(loc),
                       headers=route(("BE", "BEC"), ("LV", "HUB"),
                                     **{"X-Correlation-ID": "corr-b"}))
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    await wait_delivered(net.hub, 2)
    for p, party in ((net.ee, ("EE", "ELM")), (net.lt, ("LT", "LTE"))):
        [leg] = p.seen("PUT", "/ocpi/2.2.1/emsp/locations/BE/BEC/LOC1")
        assert (leg.headers["ocpi-to-country-code"], leg.headers["ocpi-to-party-id"]) == party
        assert (leg.headers["ocpi-from-country-code"], leg.headers["ocpi-from-party-id"]) == \
            ("LV", "HUB")
        assert leg.headers["x-correlation-id"] == "corr-b"
        assert leg.body["last_updated"] == "2015-06-29T20:39:09Z"
    assert net.be.received == []  # never back to the sender

    same = {"status": "AVAILABLE", "last_updated": "2019-06-24T12:39:09Z"}
    r = await net.call("be", "PATCH", base + "/3256", content=dumps(same),
                       headers=route(("BE", "BEC"), ("LV", "HUB")))
    assert r.json()["status_code"] == 1000
    assert len(await _outbox(net.hub)) == 2  # nothing changed but last_updated: no fan-out
    changed = {"status": "CHARGING", "last_updated": "2019-06-24T12:40:09Z"}
    r = await net.call("be", "PATCH", base + "/3256", content=dumps(changed),
                       headers=route(("BE", "BEC"), ("LV", "HUB")))
    await wait_delivered(net.hub, 4)
    [leg] = net.ee.seen("PATCH", "/ocpi/2.2.1/emsp/locations/BE/BEC/LOC1/3256")
    assert leg.body == changed
    stored = (await net.call("be", "GET", base + "/3256")).json()["data"]
    assert stored["status"] == "CHARGING"

    # Tariffs: the agreement of LT*LTE denies them, so only EE*ELM gets the push.
    tariff = loads((EXAMPLES / "tariff_1_simple_2hour.json").read_bytes())
    tariff.update(country_code="BE", party_id="BEC")
    path = f"/emsp/2.2.1/tariffs/BE/BEC/{tariff['id']}"
    r = await net.call("be", "PUT", path, content=dumps(tariff),
                       headers=route(("BE", "BEC"), ("LV", "HUB")))
    assert r.json()["status_code"] == 1000, r.text
    await wait_delivered(net.hub, 5)
    [leg] = net.ee.seen("PUT", "/ocpi/2.2.1" + path.replace("/2.2.1", "", 1))
    assert leg.body["last_updated"] == tariff["last_updated"]
    assert net.lt.seen("PUT", "/ocpi/2.2.1" + path.replace("/2.2.1", "", 1)) == []


# -- GET all via the hub -----------------------------------------------------------------------


async def test_get_all_via_hub_combines_own_and_partner_locations(net: Net) -> None:
    await seed_locations(net.hub, 2)
    loc = loads((EXAMPLES / "location_example.json").read_bytes())
    r = await net.call("be", "PUT", "/emsp/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                       headers=route(("BE", "BEC"), ("LV", "BIE")))  # to our eMSP: stored
    assert r.status_code == 201
    url = "/cpo/2.2.1/locations"
    r = await net.call("lt", "GET", url, headers=route(("LT", "LTE"), ("LV", "HUB")),
                       params={"limit": 2})
    assert r.json()["status_code"] == 1000
    assert r.headers["X-Total-Count"] == "3" and r.headers["X-Limit"] == "2"
    assert 'offset=2' in r.headers["Link"]
    assert [x["id"] for x in r.json()["data"]] == ["LOC0", "LOC1"]
    assert r.headers["OCPI-from-party-id"] == "HUB"
    r = await net.call("lt", "GET", url, headers=route(("LT", "LTE"), ("LV", "HUB")),
                       params={"limit": 2, "offset": 2})
    [theirs] = r.json()["data"]
    assert (theirs["country_code"], theirs["party_id"], theirs["id"]) == ("BE", "BEC", "LOC1")
    assert theirs["last_updated"] == "2015-06-29T20:39:09Z" and "Link" not in r.headers
    # The owner's agreement denies locations: its objects leave the hub's answer.
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await set_agreement(session, net.ids["be"], "locations", False)
    r = await net.call("lt", "GET", url, headers=route(("LT", "LTE"), ("LV", "HUB")))
    assert r.headers["X-Total-Count"] == "2"
    assert net.be.received == [] and net.ee.received == []
