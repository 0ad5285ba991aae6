"""Tariffs through the real admin HTTP API: CRUD validated by the engine, pricing a CDR or a
session, explanations of our CDRs, min/max price on our own sessions, credit CDRs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from hub.db.base import transaction
from hub.db.models import CdrRow, OutboxRow
from hub.settings import Settings
from tests.clearing.admin_helpers import charge, loads, seed_with_partner

D = Decimal

T2: dict[str, Any] = {
    "id": "LV-NIGHT", "currency": "EUR", "type": "REGULAR",
    "min_price": {"excl_vat": 2, "incl_vat": 2.42},
    "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.20, "step_size": 1}],
         "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.35, "step_size": 1}]},
    ],
    "tariff_alt_text": [{"language": "en", "text": "0.20/kWh at night, else 0.35"}],
}


async def test_tariff_crud_validates_with_the_engine(settings: Settings, start_hub) -> None:
    hub = await start_hub(settings)
    await seed_with_partner(hub.ctx)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin") as c:
        r = await c.put("/tariffs/LV-NIGHT", json=T2)
        assert r.status_code == 201, r.text
        body = loads(r.text)
        assert (body["country_code"], body["party_id"]) == ("LV", "BIM")
        assert body["min_price"] == {"excl_vat": D(2), "incl_vat": D("2.42")}
        assert body["elements"][1]["price_components"][0]["price"] == D("0.35")
        assert (await c.put("/tariffs/LV-NIGHT", json=T2)).status_code == 200  # replaced
        assert (await c.post("/tariffs", json=T2)).status_code == 409

        bad = {**T2, "elements": [{"price_components": [{"type": "ENERGY", "price": -1}]}]}
        r = await c.put("/tariffs/LV-NIGHT", json=bad)
        assert r.status_code == 422
        assert r.json()["detail"].startswith("elements[0].price_components[0].price:")
        r = await c.put("/tariffs/LV-NIGHT", json={**T2, "currency": "XYZ"})
        assert r.status_code == 422 and r.json()["detail"].startswith("currency:")
        r = await c.put("/tariffs/OTHER", json=T2)
        assert r.status_code == 422 and r.json()["detail"].startswith("id:")
        r = await c.put("/tariffs/LV-X", json={**T2, "id": "LV-X", "elements": []})
        assert r.status_code == 422 and "elements" in r.json()["detail"]

        listed = loads((await c.get("/tariffs")).text)
        assert [t["id"] for t in listed] == ["LV-STANDARD", "LV-NIGHT"]
        assert (await c.delete("/tariffs/LV-STANDARD")).status_code == 409  # used by RIGA-001
        assert (await c.delete("/tariffs/LV-NIGHT")).status_code == 204
        assert (await c.get("/tariffs/LV-NIGHT")).status_code == 404


async def test_price_a_session_and_a_cdr_under_a_stored_tariff(settings: Settings,
                                                                start_hub) -> None:
    hub = await start_hub(settings)
    await seed_with_partner(hub.ctx)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin") as c:
        assert (await c.put("/tariffs/LV-NIGHT", json=T2)).status_code == 201
        # 21:00-23:00 Riga (19:00-21:00 UTC), 10 kWh spread evenly: 5 kWh at 0.35, 5 at 0.20.
        session = {"start_date_time": "2026-11-10T19:00:00Z",
                   "end_date_time": "2026-11-10T21:00:00Z", "kwh": "10"}
        r = await c.post("/tariffs/LV-NIGHT/price", json={"session": session})
        assert r.status_code == 200, r.text
        out = loads(r.text)
        assert out["time_zone"] == "Europe/Riga" and out["vat_country"] == "LV"
        assert out["total_energy_cost"]["excl_vat"] == D("2.75")
        assert out["total_cost"] == {"excl_vat": D("2.75"), "incl_vat": D("3.33")}
        assert "elements[0].price_components[0]" in out["text"]
        # A CDR of 4 kWh: under min_price (2.00 excl., 2.42 incl.), clamped, and explained.
        cdr = {"start_date_time": "2026-11-10T10:00:00Z", "end_date_time": "2026-11-10T11:00:00Z",
               "charging_periods": [{"start_date_time": "2026-11-10T10:00:00Z", "dimensions": [
                   {"type": "ENERGY", "volume": 4}, {"type": "TIME", "volume": 1}]}],
               "total_cost": {"excl_vat": 99}}
        out = loads((await c.post("/tariffs/LV-NIGHT/price",
                                  json={"cdr": cdr, "time_zone": "Europe/Riga"})).text)
        assert out["total_cost"] == {"excl_vat": D("2.00"), "incl_vat": D("2.42")}
        assert out["cdr"]["total_cost"]["excl_vat"] == D("2.00")
        assert "price limit" in out["text"] and "min_price" in out["text"]
        r = await c.post("/tariffs/LV-NIGHT/price", json={"session": {**session, "kwh": "-1"}})
        assert r.status_code == 422 and r.json()["detail"].startswith("kwh:")
        r = await c.post("/tariffs/NOPE/price", json={"session": session})
        assert r.status_code == 404


async def test_min_price_applies_to_our_sessions_and_credit_cdrs(settings: Settings,
                                                                  start_hub) -> None:
    hub = await start_hub(settings)
    partner_id = await seed_with_partner(hub.ctx)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin") as c:
        standard = (await c.get("/tariffs/LV-STANDARD")).json()
        standard["min_price"] = {"excl_vat": 10}
        assert (await c.put("/tariffs/LV-STANDARD", json=standard)).status_code == 200
        cdr_id = await charge(hub.ctx, kwh=5)  # 5 x 0.30 + 1.00 = 2.50 -> min 10.00

        r = await c.get(f"/cdrs/{cdr_id}/explanation")
        assert r.status_code == 200, r.text
        expl = loads(r.text)
        assert expl["total_cost"]["excl_vat"] == D("10.00")
        assert expl["consistent"] is True
        assert "min_price" in expl["text"] and "elements[1].price_components[0]" in expl["text"]

        r = await c.post(f"/cdrs/{cdr_id}/credit", json={"reason": "wrong tariff"})
        assert r.status_code == 201, r.text
        credit = loads(r.text)
        assert credit["id"] == f"{cdr_id}-C" and credit["credit_reference_id"] == cdr_id
        assert credit["total_cost"] == {"excl_vat": D("-10.00"), "incl_vat": D("-12.10")}
        assert (await c.post(f"/cdrs/{cdr_id}/credit")).status_code == 409  # once only
        assert (await c.post(f"/cdrs/{cdr_id}-C/credit")).status_code == 409
        assert (await c.post("/cdrs/NOPE/credit")).status_code == 404
        expl = loads((await c.get(f"/cdrs/{cdr_id}-C/explanation")).text)
        assert expl["text"].startswith(f"CREDIT CDR {cdr_id}-C for CDR {cdr_id}")
        assert expl["consistent"] is True
    async with transaction(hub.ctx.sessionmaker) as s:
        row = (await s.scalars(select(CdrRow).where(CdrRow.cdr_id == f"{cdr_id}-C"))).one()
        sent = (await s.scalars(select(OutboxRow).where(
            OutboxRow.kind == "cdr", OutboxRow.subject == str(row.id)))).all()
    assert row.credit and row.raw == {"credit_reference_id": cdr_id, "reason": "wrong tariff"}
    assert [m.partner_id for m in sent] == [partner_id]
