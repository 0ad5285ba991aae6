from __future__ import annotations

import pytest
import respx

from hub.db.base import transaction
from hub.domain import Conflict
from hub.security import new_token, token_hash
from ocpi.handshake import our_credentials, register_with_partner
from tests.ocpi.conftest import (
    Pair,
    auth,
    new_token_a,
    ocpi_call,
    partners,
    the_partner,
)


async def test_versions_and_details_list_our_endpoints(lv_hub) -> None:
    token_a = await new_token_a(lv_hub)
    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/versions", token_a)
    assert r.status_code == 200
    body = r.json()
    assert body["status_code"] == 1000 and "timestamp" in body
    assert body["data"] == [{"version": "2.2.1", "url": f"{lv_hub.url}/ocpi/2.2.1"}]
    assert r.headers["X-Request-ID"] and r.headers["X-Correlation-ID"]

    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/2.2.1", token_a)
    details = r.json()["data"]
    assert details["version"] == "2.2.1"
    got = {(e["identifier"], e["role"]): e["url"] for e in details["endpoints"]}
    base = f"{lv_hub.url}/ocpi"
    assert got == {
        ("credentials", "SENDER"): f"{base}/2.2.1/credentials",
        ("locations", "SENDER"): f"{base}/cpo/2.2.1/locations",
        ("tokens", "RECEIVER"): f"{base}/cpo/2.2.1/tokens",
        ("tokens", "SENDER"): f"{base}/emsp/2.2.1/tokens",
        ("sessions", "RECEIVER"): f"{base}/emsp/2.2.1/sessions",
        ("cdrs", "RECEIVER"): f"{base}/emsp/2.2.1/cdrs",
        ("tariffs", "SENDER"): f"{base}/cpo/2.2.1/tariffs",
        ("sessions", "SENDER"): f"{base}/cpo/2.2.1/sessions",
        ("cdrs", "SENDER"): f"{base}/cpo/2.2.1/cdrs",
        ("tariffs", "RECEIVER"): f"{base}/emsp/2.2.1/tariffs",
        ("locations", "RECEIVER"): f"{base}/emsp/2.2.1/locations",
        ("commands", "RECEIVER"): f"{base}/cpo/2.2.1/commands",
        ("chargingprofiles", "RECEIVER"): f"{base}/cpo/2.2.1/chargingprofiles",
    }


async def test_emsp_only_platform_lists_only_emsp_endpoints(ee_hub) -> None:
    token_a = await new_token_a(ee_hub)
    r = await ocpi_call("GET", f"{ee_hub.url}/ocpi/2.2.1", token_a)
    got = {(e["identifier"], e["role"]) for e in r.json()["data"]["endpoints"]}
    assert got == {("credentials", "SENDER"), ("tokens", "SENDER"), ("sessions", "RECEIVER"),
                   ("cdrs", "RECEIVER"), ("tariffs", "RECEIVER"), ("locations", "RECEIVER")}


async def test_missing_wrong_and_raw_tokens(lv_hub) -> None:
    url = f"{lv_hub.url}/ocpi/versions"
    r = await ocpi_call("GET", url)
    assert r.status_code == 401 and r.json()["status_code"] == 2000
    r = await ocpi_call("GET", url, "not-a-token")
    assert r.status_code == 401 and "status_code" in r.json()
    r = await ocpi_call("GET", url, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401
    token_a = await new_token_a(lv_hub)
    # OCPI 2.1.1-style peers send the token raw: accepted too.
    r = await ocpi_call("GET", url, headers=auth(token_a, b64=False))
    assert r.status_code == 200 and r.json()["status_code"] == 1000


async def test_token_a_is_refused_on_functional_modules(lv_hub) -> None:
    token_a = await new_token_a(lv_hub)
    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/cpo/2.2.1/locations", token_a)
    assert r.status_code == 401
    assert r.json()["status_code"] == 2000
    r = await ocpi_call("PUT", f"{lv_hub.url}/ocpi/cpo/2.2.1/tokens/EE/ELM/X1", token_a,
                        json={})
    assert r.status_code == 401


async def test_we_register_with_partner(pair: Pair) -> None:
    lv_row = await the_partner(pair.lv)
    assert lv_row.status == "CONNECTED"
    assert lv_row.versions_url == f"{pair.ee.url}/ocpi/versions"
    assert {(p.country_code, p.party_id, p.role) for p in lv_row.parties} == {
        ("EE", "ELM", "EMSP")}
    assert lv_row.token_in_hash and lv_row.token_out and lv_row.token_a_hash is None
    assert any(e["identifier"] == "cdrs" for e in lv_row.endpoints)

    ee_row = await the_partner(pair.ee)
    assert ee_row.status == "CONNECTED" and ee_row.token_a_hash is None
    assert {(p.country_code, p.party_id, p.role) for p in ee_row.parties} == {
        ("LV", "BIM", "CPO"), ("LV", "BIE", "EMSP")}
    assert any(e["identifier"] == "locations" for e in ee_row.endpoints)

    # Both tokens work: each side calls the other's credentials with what it was given.
    r = await ocpi_call("GET", f"{pair.ee.url}/ocpi/2.2.1/credentials",
                        await pair.lv_token_for_ee())
    assert r.json()["data"]["roles"][0]["party_id"] == "ELM"
    r = await ocpi_call("GET", f"{pair.lv.url}/ocpi/cpo/2.2.1/locations",
                        await pair.ee_token_for_lv())
    assert r.status_code == 200 and r.json()["status_code"] == 1000

    # A second POST from a registered partner: 405 (credentials, POST).
    r = await ocpi_call("POST", f"{pair.ee.url}/ocpi/2.2.1/credentials",
                        await pair.lv_token_for_ee(), json={})
    assert r.status_code == 405
    with pytest.raises(Conflict):
        await register_with_partner(pair.lv.ctx, f"{pair.ee.url}/ocpi/versions", "whatever")


async def test_partner_registers_with_us(lv_hub, ee_hub) -> None:
    token_a = await new_token_a(lv_hub, "Elmo")
    row = await register_with_partner(ee_hub.ctx, f"{lv_hub.url}/ocpi/versions", token_a)
    assert row.status == "CONNECTED"
    ours = await the_partner(lv_hub)
    assert ours.status == "CONNECTED" and ours.name == "Elmo"
    assert ours.token_a_hash is None and ours.token_in_hash and ours.token_out
    assert [(p.country_code, p.party_id, p.role) for p in ours.parties] == [
        ("EE", "ELM", "EMSP")]
    # Token A is dead after the exchange (credentials: "MAY no longer be used").
    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/versions", token_a)
    assert r.status_code == 401


async def test_registration_with_unreachable_versions_is_3001(lv_hub) -> None:
    token_a = await new_token_a(lv_hub)
    body = {"token": "b-token", "url": "http://127.0.0.1:9/ocpi/versions",
            "roles": [{"role": "EMSP", "party_id": "ELM", "country_code": "EE",
                       "business_details": {"name": "Elmo"}}]}
    r = await ocpi_call("POST", f"{lv_hub.url}/ocpi/2.2.1/credentials", token_a, json=body)
    assert r.status_code == 200
    assert r.json()["status_code"] == 3001
    assert (await the_partner(lv_hub)).status == "PLANNED"


async def test_invalid_credentials_body_is_2001_and_bad_json_is_400(lv_hub) -> None:
    token_a = await new_token_a(lv_hub)
    url = f"{lv_hub.url}/ocpi/2.2.1/credentials"
    r = await ocpi_call("POST", url, token_a, json={"token": "x", "url": "http://x"})
    assert r.status_code == 200
    body = r.json()
    assert body["status_code"] == 2001 and "roles" in body["status_message"]
    assert "detail" not in body
    r = await ocpi_call("POST", url, token_a, content=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["status_code"] == 2001


async def test_put_and_delete_need_registration(lv_hub) -> None:
    token_a = await new_token_a(lv_hub)
    url = f"{lv_hub.url}/ocpi/2.2.1/credentials"
    assert (await ocpi_call("PUT", url, token_a, json={})).status_code == 405
    assert (await ocpi_call("DELETE", url, token_a)).status_code == 405


async def test_credentials_update_rotates_token_then_delete_unregisters(pair: Pair) -> None:
    old = await pair.ee_token_for_lv()  # EE -> LV token (LV's token B, EE's token_out)
    lv_before = await the_partner(pair.lv)
    url = f"{pair.ee.url}/ocpi/2.2.1/credentials"
    # LV rotates: PUT new credentials to EE with its current token.
    new_b = new_token()
    async with transaction(pair.lv.ctx.sessionmaker) as session:
        row = await session.get(type(lv_before), lv_before.id)
        row.token_in_hash = token_hash(new_b)
    r = await ocpi_call("PUT", url, lv_before.token_out,
                        json=our_credentials(pair.lv.settings, new_b))
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    new_c = r.json()["data"]["token"]
    assert new_c != lv_before.token_out
    assert (await the_partner(pair.ee)).token_out == new_b != old
    # The old token C no longer opens EE's door; the new one does.
    assert (await ocpi_call("GET", url, lv_before.token_out)).status_code == 401
    assert (await ocpi_call("GET", url, new_c)).status_code == 200

    r = await ocpi_call("DELETE", url, new_c)
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    ee_row = await the_partner(pair.ee)
    assert ee_row.status == "SUSPENDED" and ee_row.token_in_hash is None
    assert (await ocpi_call("GET", url, new_c)).status_code == 401
    assert len(await partners(pair.ee)) == 1


PARTNER = "http://partner.test/ocpi"
ROLES = [{"role": "EMSP", "party_id": "ELM", "country_code": "EE",
          "business_details": {"name": "Elmo"}}]


def _ok(data: object) -> dict[str, object]:
    return {"status_code": 1000, "timestamp": "2026-03-01T12:00:00Z", "data": data}


@pytest.mark.parametrize(("versions", "endpoints", "expected"), [
    ([{"version": "2.1.1", "url": f"{PARTNER}/2.1.1"}], [], 3002),
    ([{"version": "2.2.1", "url": f"{PARTNER}/2.2.1"}],
     [{"identifier": "credentials", "role": "SENDER", "url": f"{PARTNER}/credentials"},
      {"identifier": "bookings", "role": "RECEIVER", "url": f"{PARTNER}/bk"}], 3003),
])
async def test_registration_version_and_endpoint_mismatch(lv_hub, versions, endpoints,
                                                          expected) -> None:
    token_a = await new_token_a(lv_hub)
    with respx.mock:
        respx.route(host="127.0.0.1").pass_through()
        respx.get(f"{PARTNER}/versions").respond(200, json=_ok(versions))
        respx.get(f"{PARTNER}/2.2.1").respond(200, json=_ok(
            {"version": "2.2.1", "endpoints": endpoints}))
        r = await ocpi_call("POST", f"{lv_hub.url}/ocpi/2.2.1/credentials", token_a,
                            json={"token": "b-token", "url": f"{PARTNER}/versions",
                                  "roles": ROLES})
    assert r.json()["status_code"] == expected
    row = await the_partner(lv_hub)
    assert row.status == "PLANNED" and row.token_a_hash is not None  # A still usable


async def test_raw_token_peer_is_remembered(lv_hub) -> None:
    """A 2.1.1-style peer refusing base64: we retry raw and keep sending raw."""
    token_a = await new_token_a(lv_hub)
    with respx.mock:
        respx.route(host="127.0.0.1").pass_through()
        raw = {"Authorization": "Token b-token"}
        respx.get(f"{PARTNER}/versions", headers=raw).respond(200, json=_ok(
            [{"version": "2.2.1", "url": f"{PARTNER}/2.2.1"}]))
        respx.get(f"{PARTNER}/versions").respond(401, json={"status_code": 2000})
        respx.get(f"{PARTNER}/2.2.1", headers=raw).respond(200, json=_ok({
            "version": "2.2.1", "endpoints": [
                {"identifier": "credentials", "role": "SENDER", "url": f"{PARTNER}/cred"},
                {"identifier": "cdrs", "role": "RECEIVER", "url": f"{PARTNER}/cdrs"}]}))
        r = await ocpi_call("POST", f"{lv_hub.url}/ocpi/2.2.1/credentials", token_a,
                            json={"token": "b-token", "url": f"{PARTNER}/versions",
                                  "roles": ROLES})
    assert r.json()["status_code"] == 1000
    assert r.json()["data"]["roles"][0] == {
        "role": "CPO", "business_details": {"name": "Latvian charging network"},
        "party_id": "BIM", "country_code": "LV"}
    row = await the_partner(lv_hub)
    assert row.status == "CONNECTED" and row.token_out == "b-token"
    assert row.token_out_base64 is False
