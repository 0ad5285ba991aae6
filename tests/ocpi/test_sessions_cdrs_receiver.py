from __future__ import annotations

from decimal import Decimal

from hub.db.base import transaction
from hub.domain import PartyRef
from hub.services.records import get_received_session
from tests.ocpi.conftest import fake_partner, ocpi_call

CPO = PartyRef("FI", "CPX", "CPO")


def session_json(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "country_code": "FI", "party_id": "CPX", "id": "S-101",
        "start_date_time": "2026-03-01T10:00:00Z", "kwh": 0,
        "cdr_token": {"country_code": "LV", "party_id": "BIE", "uid": "LV0001",
                      "type": "RFID", "contract_id": "LV-BIE-C1"},
        "auth_method": "WHITELIST", "location_id": "L1", "evse_uid": "E1",
        "connector_id": "1", "currency": "EUR", "status": "ACTIVE",
        "charging_periods": [{"start_date_time": "2026-03-01T10:00:00Z",
                              "dimensions": [{"type": "ENERGY", "volume": 0.5}]}],
        "last_updated": "2026-03-01T10:00:00Z"}
    body.update(over)
    return body


async def test_partner_cpo_session_put_patch_get(lv_hub) -> None:
    _, token = await fake_partner(lv_hub, parties=[("FI", "CPX", "CPO")])
    url = f"{lv_hub.url}/ocpi/emsp/2.2.1/sessions/FI/CPX/S-101"
    r = await ocpi_call("PUT", url, token, json=session_json())
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    r = await ocpi_call("PATCH", url, token, json={
        "kwh": 3.3333, "last_updated": "2026-03-01T10:30:00Z",
        "total_cost": {"excl_vat": 1.1, "incl_vat": 1.3431},
        "charging_periods": [{"start_date_time": "2026-03-01T10:15:00Z",
                              "dimensions": [{"type": "ENERGY", "volume": 2.8333}]}]})
    assert r.json()["status_code"] == 1000
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        s = await get_received_session(session, CPO, "S-101")
    assert s.kwh == Decimal("3.3333") and s.total_cost_incl_vat == Decimal("1.3431")
    assert s.token_owner is not None and s.token_owner.party_id == "BIE"

    r = await ocpi_call("GET", url, token)
    data = r.json()["data"]
    assert data["kwh"] == 3.3333 and len(data["charging_periods"]) == 2  # PATCH appends
    assert data["last_updated"] == "2026-03-01T10:30:00Z"

    r = await ocpi_call("PATCH", url, token, json={"status": "NOPE",
                                                   "last_updated": "2026-03-01T11:00:00Z"})
    assert r.json()["status_code"] == 2001
    r = await ocpi_call("PUT", url, token, json=session_json(id="S-999"))
    assert r.json()["status_code"] == 2001
    r = await ocpi_call("GET", f"{lv_hub.url}/ocpi/emsp/2.2.1/sessions/FI/CPX/NOPE", token)
    assert r.status_code == 404


async def test_cdr_post_is_stored_once(lv_hub) -> None:
    _, token = await fake_partner(lv_hub, parties=[("FI", "CPX", "CPO")])
    cdr = {
        "country_code": "FI", "party_id": "CPX", "id": "CDR-1",
        "start_date_time": "2026-03-01T10:00:00Z", "end_date_time": "2026-03-01T11:00:00Z",
        "session_id": "S-101",
        "cdr_token": {"country_code": "LV", "party_id": "BIE", "uid": "LV0001",
                      "type": "RFID", "contract_id": "LV-BIE-C1"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "L1", "address": "Main 1", "city": "Helsinki",
                         "country": "FIN",
                         "coordinates": {"latitude": "60.16990", "longitude": "24.93840"},
                         "evse_uid": "E1", "evse_id": "FI*CPX*E1", "connector_id": "1",
                         "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
                         "connector_power_type": "AC_3_PHASE"},
        "currency": "EUR",
        "charging_periods": [{"start_date_time": "2026-03-01T10:00:00Z",
                              "dimensions": [{"type": "ENERGY", "volume": 10.1}]}],
        "total_cost": {"excl_vat": 3.03, "incl_vat": 3.7572},
        "total_energy": 10.1, "total_time": 1, "last_updated": "2026-03-01T11:00:00Z"}
    url = f"{lv_hub.url}/ocpi/emsp/2.2.1/cdrs"
    r = await ocpi_call("POST", url, token, json=cdr)
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    assert r.headers["Location"] == f"{url}/FI/CPX/CDR-1"
    r = await ocpi_call("POST", url, token, json={**cdr, "total_energy": 99})
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    r = await ocpi_call("GET", f"{url}/FI/CPX/CDR-1", token)
    data = r.json()["data"]
    assert data["total_energy"] == 10.1  # the first one stays: CDRs are immutable
    assert data["total_cost"] == {"excl_vat": 3.03, "incl_vat": 3.7572}
    r = await ocpi_call("POST", url, token, json={**cdr, "charging_periods": []})
    assert r.json()["status_code"] == 2001
