"""Tariffs module: our CPO's Sender (paginated list, one tariff) and our eMSP's Receiver
(PUT/GET/DELETE of partner CPOs' tariffs, stored so clearing re-pricing finds them)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from clearing.admin_support import row_tariff
from hub.db.base import transaction
from hub.services import tariffs as store
from hub.services.network import upsert_simple_tariff
from hub.services.parties import own_party
from ocpi.encoding import dumps, jsonable, loads
from tests.ocpi.conftest import fake_partner, ocpi_call

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).parent / "examples"


def example(name: str, **changes: object) -> dict:
    data = loads((EXAMPLES / name).read_bytes())
    data.update(changes)
    return data


async def seed_own(hub) -> None:
    """T1: a skeleton tariff (no OCPI JSON); T2: a full OCPI tariff as the admin stores it."""
    full = example("tariff_12_025kwh_min_price.json", country_code="LV", party_id="BIM",
                   id="T2")
    stored = jsonable(full)  # numbers as exact strings, as hub.services.tariffs keeps them
    async with transaction(hub.ctx.sessionmaker) as session:
        await upsert_simple_tariff(session, "T1", currency="EUR", energy_price=Decimal("0.30"),
                                   start_fee=Decimal("1.00"), now=T0)
        party = await own_party(session, "CPO")
        await store.save_tariff(session, party, "T2", stored, store.TariffFields(
            currency="EUR"), source=store.OWN, now=T0 + timedelta(hours=1))


async def test_sender_lists_our_tariffs_with_pagination(lv_hub) -> None:
    await seed_own(lv_hub)
    _, token = await fake_partner(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/tariffs"
    r = await ocpi_call("GET", base, token, params={"limit": 1})
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "2" and r.headers["X-Limit"] == "1"
    assert r.headers["Link"] == f'<{base}?offset=1&limit=1>; rel="next"'
    (t1,) = r.json()["data"]
    assert (t1["country_code"], t1["party_id"], t1["id"]) == ("LV", "BIM", "T1")
    assert t1["last_updated"] == "2026-03-01T12:00:00Z"
    prices = [pc["price"] for e in t1["elements"] for pc in e["price_components"]]
    assert prices == [1.0, 0.3]
    r = await ocpi_call("GET", base, token, params={"offset": 1})
    (t2,) = r.json()["data"]
    assert t2["id"] == "T2" and t2["min_price"] == {"excl_vat": 0.5, "incl_vat": 0.55}
    assert b'"price":0.25' in r.content  # exact JSON number, not a string
    r = await ocpi_call("GET", base, token, params={"date_from": "2026-03-01T12:30:00Z"})
    assert [t["id"] for t in r.json()["data"]] == ["T2"]


async def test_sender_one_tariff_and_unknown(lv_hub) -> None:
    await seed_own(lv_hub)
    _, token = await fake_partner(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/tariffs"
    r = await ocpi_call("GET", f"{base}/T2", token)
    assert r.json()["data"]["elements"][0]["price_components"][0]["vat"] == 10.0
    r = await ocpi_call("GET", f"{base}/NOPE", token)
    assert r.status_code == 404 and r.json()["status_code"] == 2000


async def test_receiver_put_get_delete_partner_tariff(lv_hub) -> None:
    _, token = await fake_partner(lv_hub, [("FI", "FOR", "CPO")])
    url = f"{lv_hub.url}/ocpi/emsp/2.2.1/tariffs/FI/FOR/20"
    body = example("tariff_12_025kwh_min_price.json", country_code="FI", party_id="FOR")
    r = await ocpi_call("PUT", url, token, content=dumps(body))
    assert r.status_code == 201 and r.json()["status_code"] == 1000
    changed = copy.deepcopy(body)
    changed["elements"][0]["price_components"][0]["price"] = Decimal("0.27")
    r = await ocpi_call("PUT", url, token, content=dumps(changed))
    assert r.status_code == 200

    r = await ocpi_call("GET", url, token)
    got = loads(r.content)["data"]
    assert got == loads(dumps(changed))  # exactly as sent, last_updated unchanged
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        party = await store.tariff_party(session, "FI", "FOR", store.PARTNER)
        row = await store.find_tariff_row(session, "20", source=store.PARTNER,
                                          party_pk=party.id)
        assert row is not None and row.last_updated == datetime(2018, 12, 17, 16, 45, 21,
                                                                tzinfo=UTC)
        parsed = row_tariff(row, party)  # what clearing's re-pricing reads
    assert parsed.min_price is not None and parsed.min_price.excl_vat == Decimal("0.5")
    assert parsed.elements[0].components[0].price == Decimal("0.27")

    r = await ocpi_call("DELETE", url, token)
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    r = await ocpi_call("GET", url, token)
    assert r.status_code == 404
    r = await ocpi_call("DELETE", url, token)
    assert r.status_code == 404


async def test_receiver_refuses_bad_tariffs(lv_hub) -> None:
    _, token = await fake_partner(lv_hub, [("FI", "FOR", "CPO")])
    base = f"{lv_hub.url}/ocpi/emsp/2.2.1/tariffs"
    body = example("tariff_12_025kwh_min_price.json", country_code="FI", party_id="FOR")
    r = await ocpi_call("PUT", f"{base}/FI/FOR/21", token, content=dumps(body))
    assert r.status_code == 200 and r.json()["status_code"] == 2001
    assert "id" in r.json()["status_message"]
    bad = {**body, "elements": []}
    r = await ocpi_call("PUT", f"{base}/FI/FOR/20", token, content=dumps(bad))
    assert r.json()["status_code"] == 2001 and "elements" in r.json()["status_message"]
    r = await ocpi_call("PUT", f"{base}/FI/FOR/20", token, content=b"{not json")
    assert r.status_code == 400 and r.json()["status_code"] == 2001
    other = {**body, "country_code": "EE", "party_id": "ENE"}
    r = await ocpi_call("PUT", f"{base}/EE/ENE/20", token, content=dumps(other))
    assert r.status_code == 404  # not a party of this connection
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        assert await store.list_tariff_rows(session, store.PARTNER) == []
