"""Clearing reference data through the real admin HTTP API (a hub on loopback): legal
entities, party mapping, owners, split rules, the split preview, FX rates, VAT, tax."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from clearing import entities as ents
from clearing.finance.documents import LegalParty
from clearing.tax import TaxParty
from hub.context import HubContext
from hub.db.base import transaction
from hub.seed import seed_demo_network
from hub.settings import Settings
from tests.clearing.admin_helpers import T0, loads

D = Decimal
DATA = Path(__file__).parent / "data"
ASOY = {"code": "FI-ASOY", "name": "Asunto Oy Esimerkki", "country": "fi",
        "vat_id": "FI12345678", "iban": "FI21 1234 5600 0007 85", "currency": "EUR"}


def rule_body(**fields: Any) -> dict[str, Any]:
    return {"role": "RETAILER", "entity_code": "FI-RET", "basis": "PER_KWH", "amount": 0.0850,
            "tax_rule": "DOMESTIC_VAT", "vat_rate": 25.5, "valid_from": "2026-01-01", **fields}


async def test_entities_parties_and_owners(settings: Settings, start_hub) -> None:
    hub = await start_hub(settings)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin/clearing") as c:
        r = await c.post("/entities", json=ASOY)
        assert r.status_code == 201, r.text
        assert (r.json()["country"], r.json()["iban"]) == ("FI", "FI2112345600000785")
        assert (await c.post("/entities", json=ASOY)).status_code == 409
        r = await c.post("/entities", json={**ASOY, "code": "X", "country": "Finland"})
        assert r.status_code == 422 and r.json()["detail"].startswith("country:")
        r = await c.post("/entities", json={"code": "Y", "country": "LV"})
        assert r.status_code == 422 and r.json()["detail"] == "name: is required"
        r = await c.post("/entities", json={**ASOY, "code": "Z", "currency": "USD"})
        assert r.status_code == 422 and r.json()["detail"].startswith("currency:")
        r = await c.post("/entities", json={**ASOY, "code": "W", "is_own": "yes"})
        assert r.status_code == 422 and r.json()["detail"] == "is_own: must be true or false"
        r = await c.put("/entities/FI-ASOY", json={"city": "Helsinki"})
        assert r.status_code == 200 and r.json()["city"] == "Helsinki"
        assert r.json()["name"] == ASOY["name"]
        assert (await c.get("/entities/NOPE")).status_code == 404
        r = await c.post("/entities", json={"code": "LV-BIM", "name": "Latvian network",
                                            "country": "LV", "is_own": True})
        assert r.status_code == 201 and r.json()["is_own"] is True

        r = await c.put("/party-entities", json={"country_code": "LV", "party_id": "BIM",
                                                 "role": "CPO", "entity_code": "LV-BIM"})
        assert r.status_code == 200, r.text
        r = await c.get("/party-entities")
        assert [(m["party"], m["entity_code"]) for m in r.json()] == [
            ("LV*BIM (CPO)", "LV-BIM")]
        r = await c.put("/party-entities", json={"country_code": "EE", "party_id": "XXX",
                                                 "role": "CPO", "entity_code": "LV-BIM"})
        assert r.status_code == 404
        assert (await c.delete("/entities/LV-BIM")).status_code == 409  # still mapped

        for body in ({"scope": "LOCATION", "target_id": "HEL-1", "entity_code": "LV-BIM",
                      "valid_from": "2025-01-01"},
                     {"scope": "LOCATION", "target_id": "HEL-1", "entity_code": "FI-ASOY",
                      "valid_from": "2026-06-01"},
                     {"scope": "STATION", "target_id": "HEL-1-B", "entity_code": "LV-BIM",
                      "valid_from": "2026-01-01"}):
            r = await c.post("/owners", json=body)
            assert r.status_code == 201, r.text
        r = await c.post("/owners", json={"scope": "CITY", "target_id": "x",
                                          "entity_code": "LV-BIM", "valid_from": "2026-01-01"})
        assert r.status_code == 422 and r.json()["detail"].startswith("scope:")
        r = await c.post("/owners", json={"scope": "STATION", "target_id": "x",
                                          "entity_code": "LV-BIM", "valid_from": "June"})
        assert r.status_code == 422 and r.json()["detail"].startswith("valid_from:")

        async def owner(**q: str) -> str | None:
            got = (await c.get("/owners/of", params=q)).json()["owner"]
            return None if got is None else str(got["code"])
        assert await owner(location_id="HEL-1", on="2026-05-31") == "LV-BIM"
        assert await owner(location_id="HEL-1", on="2026-06-01") == "FI-ASOY"
        assert await owner(location_id="HEL-1") == "FI-ASOY"
        assert await owner(location_id="HEL-1", station_id="HEL-1-B") == "LV-BIM"
        assert await owner(location_id="HEL-1", on="2024-12-31") is None
        assert len((await c.get("/owners")).json()) == 3


async def test_split_rules_and_the_preview(settings: Settings, start_hub) -> None:
    """The Finnish example of test_ref_split through the API: the owner of station HEL-1-A
    is FI-ASOY; 14.00 EUR paid for 30 kWh; the VAT is derived from FI 25.5 %:
    14.00 - 14.00 / 1.255 = 2.8446 -> 2.84. Parts: TAX 2.84, RETAILER 3.20, DSO 1.58,
    PAYMENT_PROVIDER 0.47, PLATFORM 1.76 (the owner's 10 %, not the default 12 %), owner 4.15
    (14.00 - 9.85)."""
    hub = await start_hub(settings)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin/clearing") as c:
        for code in ("FI-ASOY", "FI-RET", "FI-DSO", "FI-PSP", "FI-PLT"):
            r = await c.post("/entities", json={"code": code, "name": code, "country": "FI"})
            assert r.status_code == 201
        await c.post("/owners", json={"scope": "STATION", "target_id": "HEL-1-A",
                                      "entity_code": "FI-ASOY", "valid_from": "2026-01-01"})
        bodies = [
            rule_body(),
            rule_body(role="DSO", entity_code="FI-DSO", amount=0.042),
            rule_body(role="PAYMENT_PROVIDER", entity_code="FI-PSP",
                      basis="PERCENT_PLUS_FIXED", percent=1.9, amount=0.20, tax_rule="EXEMPT",
                      vat_rate=0),
            rule_body(role="PLATFORM", entity_code="FI-PLT", basis="PERCENT", percent=12,
                      amount=None),
            rule_body(role="PLATFORM", entity_code="FI-PLT", basis="PERCENT", percent=10,
                      amount=None, scope="OWNER", scope_id="FI-ASOY", note="contract 2026"),
        ]
        ids = []
        for body in bodies:
            r = await c.post("/split-rules", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        bad = [
            (rule_body(basis="PER_MINUTE"), "basis: must be one of"),
            (rule_body(amount=None), "amount: required for basis PER_KWH"),
            (rule_body(entity_code="NOPE"), "entity_code: unknown legal entity 'NOPE'"),
            (rule_body(valid_from="2026-13-01"), "valid_from: not a date"),
            (rule_body(tax_rule="EXEMPT"), "vat_rate: must be 0 for tax_rule EXEMPT"),
            (rule_body(colour="red"), "colour: unknown field"),
            (rule_body(amount="lots"), "amount: must be a number"),
        ]
        for body, message in bad:
            r = await c.post("/split-rules", json=body)
            assert r.status_code == 422 and r.json()["detail"].startswith(message), r.text
        r = await c.post("/split-rules", json=rule_body(valid_from="2026-06-01"))
        assert r.status_code == 409
        r = await c.put(f"/split-rules/{ids[0]}", json=rule_body(valid_to="2027-01-01"))
        assert r.status_code == 200 and r.json()["valid_to"] == "2027-01-01"
        assert (await c.put("/split-rules/999", json=rule_body())).status_code == 404
        r = await c.get(f"/split-rules/{ids[4]}")
        assert (r.json()["scope"], r.json()["percent"]) == ("OWNER", 10)

        r = await c.post("/split-preview", json={
            "gross": 14.00, "energy_kwh": 30, "country": "FI", "on": "2026-11-10",
            "station_id": "HEL-1-A", "location_id": "HEL-1"})
        assert r.status_code == 200, r.text
        out = loads(r.text)
        assert out["owner_code"] == "FI-ASOY" and out["input"]["vat"] == D("2.84")
        assert [(p["role"], p["gross"]) for p in out["parts"]] == [
            ("TAX", D("2.84")), ("RETAILER", D("3.20")), ("DSO", D("1.58")),
            ("PAYMENT_PROVIDER", D("0.47")), ("PLATFORM", D("1.76")), ("OWNER", D("4.15"))]
        assert out["total"] == D("14.00") and "0.085 EUR/kWh x 30 kWh = 2.55" in out["text"]
        r = await c.post("/split-preview", json={"gross": 1, "energy_kwh": 1, "country": "XX",
                                                 "on": "2026-11-10"})
        assert r.status_code == 422 and "'XX'" in r.json()["detail"]

        assert (await c.delete(f"/split-rules/{ids[1]}")).status_code == 204
        assert (await c.delete(f"/split-rules/{ids[1]}")).status_code == 404
        assert len((await c.get("/split-rules")).json()) == 4


async def test_fx_vat_and_tax_endpoints(settings: Settings, start_hub) -> None:
    hub = await start_hub(settings)
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin/clearing") as c:
        r = await c.post("/fx-rates/import", content=(DATA / "eurofxref-hist.xml").read_bytes())
        assert r.status_code == 200 and r.json() == {"written": 20}, r.text
        r = await c.post("/fx-rates/import", content=b"nonsense")
        assert r.status_code == 422 and r.json()["detail"].startswith("ECB file:")
        assert (await c.post("/fx-rates/import", content=b"")).status_code == 422
        r = await c.get("/fx-rates", params={"currency": "SEK"})
        rows = loads(r.text)
        assert [(x["rate_date"], x["rate"]) for x in rows[:2]] == [
            ("2026-11-26", D("10.9435")), ("2026-11-25", D("10.962"))]
        r = await c.put("/fx-rates", json={"quote": "NOK", "rate_date": "2026-11-27",
                                           "rate": 11.8})
        assert r.status_code == 200 and r.json()["source"] == "manual"
        r = await c.put("/fx-rates", json={"quote": "USD", "rate_date": "2026-11-27",
                                           "rate": 1.1})
        assert r.status_code == 422 and r.json()["detail"].startswith("quote:")

        vat = loads((await c.get("/vat-rates")).text)
        ee = [(x["valid_from"], x["rate"]) for x in vat["vat"] if x["country"] == "EE"]
        assert ee == [("2009-07-01", D(20)), ("2024-01-01", D(22)), ("2025-07-01", D(24))]
        assert {x["country"] for x in vat["excise"]} >= {"LV", "EE", "FI", "SE", "DK", "DE"}
        assert any(x["uncertain"] for x in vat["excise"])
        one = loads((await c.get("/vat-rates", params={"country": "fi", "on": "2024-09-01"})).text)
        assert (one["rate"], one["valid_from"], one["excise"]["amount"]) == (
            D("25.5"), "2024-09-01", D("0.02253"))
        r = await c.get("/vat-rates", params={"country": "EE", "on": "1999-01-01"})
        assert r.status_code == 422 and "starts on 2009-07-01" in r.json()["detail"]
        r = await c.get("/vat-rates", params={"country": "EE"})
        assert r.status_code == 422 and r.json()["detail"].startswith("on:")

        r = await c.post("/tax-decision", json={
            "supplier": {"country": "LV", "vat_id": "LV40003000000"},
            "customer": {"country": "EE", "vat_id": "EE100000000"},
            "country_of_supply": "LV", "on": "2026-11-10",
            "b2b_option": "CHARGING_COUNTRY_VAT", "net": 10.00})
        out = loads(r.text)
        assert (out["rule"], out["rate"], out["vat_amount"]) == ("DOMESTIC_VAT", D(21),
                                                                  D("2.10"))
        r = await c.post("/tax-decision", json={"supplier": {"country": "LV"},
                                                "customer": {}, "country_of_supply": "LV",
                                                "on": "2026-11-10"})
        assert r.status_code == 422 and r.json()["detail"] == "country: is required"


async def test_entity_services_used_by_the_ledger(hub_ctx: HubContext) -> None:
    """entity_of_party, legal_party, tax_party and owner_of (a station without its own
    assignment inherits its location's owner, looked up through the station's location)."""
    async with transaction(hub_ctx.sessionmaker) as s:
        await seed_demo_network(s, hub_ctx.settings, T0)
        cpo = await ents.find_party(s, "LV", "BIM", "CPO")
        assert await ents.entity_of_party(s, cpo.id) is None
        row = await ents.create_entity(s, "LV-BIM", {
            "name": "Latvian network", "country": "LV", "vat_id": "LV40003000000",
            "iban": "LV80BANK0000435195001", "bic": "HABALV22", "city": "Riga"}, is_own=True)
        await ents.create_entity(s, "LV-RIGA", {"name": "Riga city", "country": "LV"})
        await ents.map_party(s, cpo.id, "LV-BIM")
        await ents.assign_owner(s, "LOCATION", "RIGA-001", "LV-RIGA", date(2026, 1, 1))
    async with transaction(hub_ctx.sessionmaker) as s:
        found = await ents.entity_of_party(s, cpo.id)
        assert found is not None and found.id == row.id
        assert ents.legal_party(found) == LegalParty(
            name="Latvian network", country="LV", vat_id="LV40003000000", city="Riga",
            iban="LV80BANK0000435195001", bic="HABALV22")
        assert ents.tax_party(found) == TaxParty("LV", "LV40003000000", True)
        owner = await ents.owner_of(s, location_id=None, station_id="RIGA-001-A")
        assert owner is not None and owner.code == "LV-RIGA"
        assert await ents.owner_of(s, location_id=None, station_id="RIGA-001-A",
                                   on=date(2025, 12, 31)) is None
        assert await ents.owner_of(s, location_id=None, station_id=None) is None
