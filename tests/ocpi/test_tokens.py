from __future__ import annotations

from datetime import UTC, datetime

from hub.db.base import transaction
from hub.domain import AllowedType, PartyRef, TokenInfo
from hub.services.tokens import authorize, get_token, upsert_token
from ocpi.authorize import OcpiRemoteAuthorizer
from tests.ocpi.conftest import Pair, fake_partner, ocpi_call

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ELM = PartyRef("EE", "ELM", "EMSP")


def token_json(uid: str = "04A1B2C3", **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "country_code": "EE", "party_id": "ELM", "uid": uid, "type": "RFID",
        "contract_id": "EE-ELM-C00001-1", "issuer": "Elmo", "valid": True,
        "whitelist": "ALLOWED", "last_updated": "2026-03-01T12:00:00Z"}
    body.update(over)
    return body


async def test_token_put_get_patch(lv_hub) -> None:
    _, token = await fake_partner(lv_hub)
    url = f"{lv_hub.url}/ocpi/cpo/2.2.1/tokens/EE/ELM/04A1B2C3"
    r = await ocpi_call("PUT", url, token, json=token_json())
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    assert "data" not in r.json()
    r = await ocpi_call("PUT", url, token, json=token_json(visual_number="ELM 1"))
    assert r.status_code == 200

    r = await ocpi_call("GET", url, token)
    data = r.json()["data"]
    assert data["uid"] == "04A1B2C3" and data["visual_number"] == "ELM 1"
    assert data["last_updated"] == "2026-03-01T12:00:00Z"

    r = await ocpi_call("PATCH", url, token,
                        json={"valid": False, "last_updated": "2026-03-02T08:00:00Z"})
    assert r.json()["status_code"] == 1000
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        stored = await get_token(session, ELM, "04A1B2C3", "RFID")
    assert stored is not None and stored.valid is False
    assert stored.last_updated == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    r = await ocpi_call("PATCH", url, token, json={"valid": True})
    assert r.json()["status_code"] == 2001  # no last_updated
    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/cpo/2.2.1/tokens/EE/ELM/NOPE", token)
    assert r.status_code == 404 and r.json()["status_code"] == 2004


async def test_token_push_validation(lv_hub) -> None:
    _, token = await fake_partner(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/tokens"
    # Missing field: 2001 with a message, HTTP 200 (status_codes: reached the OCPI layer).
    body = token_json()
    del body["issuer"]
    r = await ocpi_call("PUT", f"{base}/EE/ELM/04A1B2C3", token, json=body)
    assert r.status_code == 200
    assert r.json()["status_code"] == 2001 and "issuer" in r.json()["status_message"]
    # URL and object disagree.
    r = await ocpi_call("PUT", f"{base}/EE/ELM/OTHER", token, json=token_json())
    assert r.json()["status_code"] == 2001
    # Another party's URL: not this connection's (transport_and_format, Errors).
    r = await ocpi_call("PUT", f"{base}/FI/XYZ/04A1B2C3", token,
                        json=token_json(country_code="FI", party_id="XYZ"))
    assert r.status_code == 404
    # Bad enum value.
    r = await ocpi_call("PUT", f"{base}/EE/ELM/04A1B2C3", token,
                        json=token_json(whitelist="SOMETIMES"))
    assert r.json()["status_code"] == 2001


async def add_own_token(hub, owner: PartyRef, uid: str, valid: bool = True) -> None:
    async with transaction(hub.ctx.sessionmaker) as session:
        await upsert_token(session, TokenInfo(owner=owner, uid=uid, type="RFID",
                                              contract_id=f"{owner.country_code}-X-{uid}",
                                              issuer="Elmo", valid=valid, last_updated=T0),
                           T0)


async def test_sender_lists_own_tokens_and_authorizes(pair: Pair) -> None:
    await add_own_token(pair.ee, ELM, "EE0001")
    await add_own_token(pair.ee, ELM, "EE0002", valid=False)
    token = await pair.lv_token_for_ee()
    base = f"{pair.ee.url}/ocpi/emsp/2.2.1/tokens"
    r = await ocpi_call("GET", base, token, params={"limit": 1})
    assert r.headers["X-Total-Count"] == "2" and 'rel="next"' in r.headers["Link"]
    assert [t["uid"] for t in r.json()["data"]] == ["EE0001"]

    r = await ocpi_call("POST", f"{base}/EE0001/authorize", token,
                        json={"location_id": "LOC1"})
    info = r.json()["data"]
    assert info["allowed"] == "ALLOWED" and info["token"]["uid"] == "EE0001"
    assert info["location"] == {"location_id": "LOC1", "evse_uids": []}
    assert len(info["authorization_reference"]) == 36
    r = await ocpi_call("POST", f"{base}/EE0002/authorize", token)
    assert r.json()["data"]["allowed"] == "BLOCKED"
    r = await ocpi_call("POST", f"{base}/UNKNOWN/authorize", token)
    assert r.status_code == 404 and r.json()["status_code"] == 2004
    assert "data" not in r.json()


async def test_realtime_authorization_between_two_hubs(pair: Pair) -> None:
    await add_own_token(pair.ee, ELM, "EE0001")
    await add_own_token(pair.ee, ELM, "EE0002", valid=False)
    authorizer = OcpiRemoteAuthorizer(pair.lv.ctx)

    result = await authorizer.authorize("EE0001", None, "LOC1", None)
    assert result is not None and result.allowed is AllowedType.ALLOWED
    assert result.source == "realtime" and result.authorization_reference
    assert result.token is not None and result.token.owner.same_party("EE", "ELM")
    assert result.token.contract_id == "EE-X-EE0001"

    result = await authorizer.authorize("EE0002", "RFID", None, ELM)
    assert result is not None and result.allowed is AllowedType.BLOCKED
    assert await authorizer.authorize("NOBODY", None, None, None) is None
    assert await authorizer.authorize("NOBODY", "RFID", None, ELM) is None

    # The kernel's authorize(): unknown locally -> asks EE in real time.
    async with transaction(pair.lv.ctx.sessionmaker) as session:
        verdict = await authorize(session, "EE0001", location_id="LOC1",
                                  remote=pair.lv.ctx.remote_authorizer)
    assert verdict.is_allowed and verdict.source == "realtime"
