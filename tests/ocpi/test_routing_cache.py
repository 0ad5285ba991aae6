"""The in-process caches of the routed hot path (ocpi.auth.TableCache): caller, agreement
verdicts and routes (receiving party, its platform, agreement and endpoint). Each test first
warms the cache with a routed request, then commits a change in this process (as the admin API
or a credentials exchange would) and checks the very next request sees it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.security import new_token, token_hash
from ocpi.agreements import set_agreement
from tests.ocpi.conftest import ocpi_call
from tests.ocpi.test_routing import Net, b64, route
from tests.ocpi.test_routing import net_fixture as net_fixture  # the `net` fixture

PATH = "/cpo/2.2.1/locations/LOC1"
LEG = "/ocpi/2.2.1/cpo/locations/LOC1"
EE_TO_BE = route(("EE", "ELM"), ("BE", "BEC"))


async def _routed(net: Net, who: str = "ee") -> Any:
    return await net.call(who, "GET", PATH, headers=EE_TO_BE)


async def _partner(net: Net, name: str, **values: Any) -> None:
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await session.execute(update(PartnerRow).where(PartnerRow.id == net.ids[name])
                              .values(**values))


async def test_receiver_token_rotation_is_used_by_the_next_request(net: Net) -> None:
    assert (await _routed(net)).json()["status_code"] == 1000
    await _partner(net, "be", token_out="out-be-rotated")  # credentials PUT by the receiver
    assert (await _routed(net)).json()["status_code"] == 1000
    first, second = net.be.seen("GET", LEG)
    assert first.headers["authorization"] == b64("out-be")
    assert second.headers["authorization"] == b64("out-be-rotated")


async def test_receiver_endpoint_change_is_used_by_the_next_request(net: Net) -> None:
    assert (await _routed(net)).json()["status_code"] == 1000
    moved = [{"identifier": "locations", "role": "SENDER",
              "url": f"{net.be.url}/ocpi/2.2.2/cpo/locations"}]
    await _partner(net, "be", endpoints=moved)  # new version details after a re-registration
    assert (await _routed(net)).json()["status_code"] == 1000
    assert [s.path for s in net.be.received] == [LEG, "/ocpi/2.2.2/cpo/locations/LOC1"]


async def test_receiver_status_and_agreement_changes_are_seen_at_once(net: Net) -> None:
    assert (await _routed(net)).json()["status_code"] == 1000
    await _partner(net, "be", status="SUSPENDED")
    assert (await _routed(net)).json()["status_code"] == 4003
    await _partner(net, "be", status="CONNECTED")
    assert (await _routed(net)).json()["status_code"] == 1000
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await set_agreement(session, net.ids["be"], "locations", False)
    r = await _routed(net)
    assert r.status_code == 403 and "receiver" in r.json()["status_message"]
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await set_agreement(session, net.ids["be"], "locations", True)
    assert (await _routed(net)).json()["status_code"] == 1000
    assert len(net.be.seen("GET", LEG)) == 3


async def test_caller_token_rotation_and_status_are_seen_at_once(net: Net) -> None:
    old = net.tokens["ee"]
    for raw in (False, True):  # the cache is keyed by the header: both spellings warmed
        header = {"Authorization": f"Token {old}"} if raw else {"Authorization": b64(old)}
        r = await ocpi_call("GET", f"{net.hub.url}/ocpi{PATH}", headers={**EE_TO_BE, **header})
        assert r.json()["status_code"] == 1000
    rotated = new_token()
    await _partner(net, "ee", token_in_hash=token_hash(rotated))  # credentials PUT by the caller
    for header in ({"Authorization": f"Token {old}"}, {"Authorization": b64(old)}):
        r = await ocpi_call("GET", f"{net.hub.url}/ocpi{PATH}", headers={**EE_TO_BE, **header})
        assert r.status_code == 401
    net.tokens["ee"] = rotated
    assert (await _routed(net)).json()["status_code"] == 1000
    await _partner(net, "ee", status="SUSPENDED")
    assert (await _routed(net)).status_code == 401
    await _partner(net, "ee", status="CONNECTED")
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await set_agreement(session, net.ids["ee"], "locations", False)
    r = await _routed(net)
    assert r.status_code == 403 and "your roaming agreement" in r.json()["status_message"]
    assert len(net.be.seen("GET", LEG)) == 3


async def test_route_cache_is_per_receiver(net: Net) -> None:
    """A cached route to one receiver never answers for another (keys are the OCPI-to party,
    module and interface)."""
    assert (await _routed(net)).json()["status_code"] == 1000
    r = await net.call("ee", "GET", PATH, headers=route(("EE", "ELM"), ("XX", "NOP")))
    assert r.json()["status_code"] == 4001
    r = await net.call("be", "PUT", "/emsp/2.2.1/locations/BE/BEC/LOC1", json={"id": "LOC1"},
                       headers=route(("BE", "BEC"), ("LT", "LTE")))
    assert r.json()["status_code"] == 1000
    [leg] = net.lt.seen("PUT", "/ocpi/2.2.1/emsp/locations/BE/BEC/LOC1")
    assert leg.headers["authorization"] == b64("out-lt") and leg.body == {"id": "LOC1"}
