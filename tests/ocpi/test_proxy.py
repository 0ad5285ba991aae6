"""The hub's URL proxy (issue 5, item 3): command response_url, pagination Link and CDR
Location are rewritten to /ocpi/proxy/{id} on forwarded exchanges; the proxy forwards to the
original URL for the partner it was given to, until it expires."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from hub.db.base import transaction
from hub.db.models_ocpi_routing import OcpiProxyRow
from ocpi.proxy import next_link, purge_expired
from tests.ocpi.test_routing import Net, net_fixture, route  # noqa: F401  (fixture "net")

EE_BEC = (("EE", "ELM"), ("BE", "BEC"))


async def test_command_response_url_goes_through_the_proxy(net: Net) -> None:
    original = f"{net.ee.url}/ocpi/2.2.1/emsp/commands/START_SESSION/77"
    command = {"response_url": original, "location_id": "LOC1",
               "token": {"uid": "EE0001"}}
    r = await net.call("ee", "POST", "/cpo/2.2.1/commands/START_SESSION", json=command,
                       headers=route(*EE_BEC, **{"X-Correlation-ID": "corr-c"}))
    assert r.json()["status_code"] == 1000
    [leg] = net.be.seen("POST", "/ocpi/2.2.1/cpo/commands/START_SESSION")
    proxied = leg.body["response_url"]
    assert proxied.startswith(f"{net.hub.url}/ocpi/proxy/") and net.ee.url not in proxied
    assert leg.body["location_id"] == "LOC1" and leg.body["token"] == {"uid": "EE0001"}

    # The CPO posts its CommandResult to the hub URL; it reaches the eMSP's original URL.
    result = {"result": "ACCEPTED"}
    r = await net.call("be", "POST", proxied.removeprefix(f"{net.hub.url}/ocpi"), json=result,
                       headers=route(("BE", "BEC"), ("EE", "ELM")))
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    [back] = net.ee.seen("POST", "/ocpi/2.2.1/emsp/commands/START_SESSION/77")
    assert back.body == result and back.headers["ocpi-to-party-id"] == "ELM"

    # Only the partner it was handed to may use it.
    r = await net.call("lt", "POST", proxied.removeprefix(f"{net.hub.url}/ocpi"), json=result)
    assert r.status_code == 404 and "expired" in r.json()["status_message"]

    # Expired: a clear error, and the row is gone.
    async with transaction(net.hub.ctx.sessionmaker) as session:
        await session.execute(update(OcpiProxyRow).values(
            expires_at=net.hub.ctx.clock() - timedelta(seconds=1)))
    r = await net.call("be", "POST", proxied.removeprefix(f"{net.hub.url}/ocpi"), json=result)
    assert r.status_code == 404 and r.json()["status_code"] == 2000
    assert "unknown or expired" in r.json()["status_message"]
    assert len(net.ee.seen("POST", "/ocpi/2.2.1/emsp/commands/START_SESSION/77")) == 1
    async with transaction(net.hub.ctx.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(OcpiProxyRow)) == 0


async def test_link_of_a_forwarded_get_is_proxied_and_followed(net: Net) -> None:
    next_url = f"{net.be.base}/cpo/locations?offset=1&limit=1"
    net.be.replies["GET /ocpi/2.2.1/cpo/locations"] = (200, {
        "status_code": 1000, "data": [{"id": "A"}], "timestamp": "2026-01-01T00:00:00Z"},
        {"Link": f'<{next_url}>; rel="next"', "X-Total-Count": "2", "X-Limit": "1"})
    r = await net.call("ee", "GET", "/cpo/2.2.1/locations", headers=route(*EE_BEC),
                       params={"limit": 1})
    assert r.headers["X-Total-Count"] == "2" and r.headers["X-Limit"] == "1"
    link = next_link(r.headers["Link"])
    assert link is not None and link.startswith(f"{net.hub.url}/ocpi/proxy/")
    assert net.be.url not in r.headers["Link"]
    r = await net.call("ee", "GET", link.removeprefix(f"{net.hub.url}/ocpi"),
                       headers=route(*EE_BEC))
    assert r.json()["status_code"] == 1000
    page1, page2 = net.be.seen("GET", "/ocpi/2.2.1/cpo/locations")
    assert page1.query == {"limit": "1"} and page2.query == {"offset": "1", "limit": "1"}
    assert page2.headers["authorization"].startswith("Token ")  # the hub's token for BE
    assert page2.headers["ocpi-from-party-id"] == "ELM"


async def test_cdr_location_of_a_forwarded_post_is_proxied(net: Net) -> None:
    where = f"{net.ee.base}/emsp/cdrs/BE/BEC/CDR1"
    net.ee.replies["POST /ocpi/2.2.1/emsp/cdrs"] = (200, {
        "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}, {"Location": where})
    r = await net.call("be", "POST", "/emsp/2.2.1/cdrs", json={"id": "CDR1"},
                       headers=route(("BE", "BEC"), ("EE", "ELM")))
    assert r.json()["status_code"] == 1000
    location = r.headers["Location"]
    assert location.startswith(f"{net.hub.url}/ocpi/proxy/")
    r = await net.call("be", "GET", location.removeprefix(f"{net.hub.url}/ocpi"),
                       headers=route(("BE", "BEC"), ("EE", "ELM")))
    assert r.json()["data"]["path"] == "/ocpi/2.2.1/emsp/cdrs/BE/BEC/CDR1"


async def test_expired_rows_are_purged(net: Net) -> None:
    now = net.hub.ctx.clock()
    async with transaction(net.hub.ctx.sessionmaker) as session:
        for i, ttl in enumerate((-5, 5)):
            session.add(OcpiProxyRow(proxy_id=f"p{i}", kind="link", target_url="http://x",
                                     created_at=now, expires_at=now + timedelta(minutes=ttl)))
    assert await purge_expired(net.hub.ctx.sessionmaker, now) == 1
    async with transaction(net.hub.ctx.sessionmaker) as session:
        assert list(await session.scalars(select(OcpiProxyRow.proxy_id))) == ["p1"]
