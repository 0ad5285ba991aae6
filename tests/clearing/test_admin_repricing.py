"""Re-pricing partners' CDRs through the real admin HTTP API: the partner's published tariff,
the agreement's tolerance, CDRs flagged outside it, and the explanation of the recomputation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from hub.settings import Settings
from tests.clearing.admin_helpers import (
    loads,
    received_cdr_json,
    seed_with_partner,
    store_received,
)

D = Decimal
EE_TARIFF: dict[str, Any] = {
    "country_code": "EE", "party_id": "ELM", "id": "EE-AC", "currency": "EUR",
    "elements": [{"price_components": [{"type": "FLAT", "price": 0.50},
                                       {"type": "ENERGY", "price": 0.25}]}],
}


async def test_received_cdrs_are_repriced_within_the_agreed_tolerance(
    settings: Settings, start_hub,
) -> None:
    hub = await start_hub(settings)
    partner_id = await seed_with_partner(hub.ctx)
    # 10 kWh x 0.25 + 0.50 = 3.00 excl. VAT.
    await store_received(hub.ctx, partner_id, received_cdr_json("CDR-OK", "3.00"))
    await store_received(hub.ctx, partner_id, received_cdr_json("CDR-NEAR", "3.04"))
    await store_received(hub.ctx, partner_id, received_cdr_json("CDR-HIGH", "3.50"))
    await store_received(hub.ctx, partner_id,
                         received_cdr_json("CDR-UNKNOWN", "1.00", tariff_id="EE-DC"))
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin") as c:
        r = await c.put("/partner-tariffs", json=EE_TARIFF)
        assert r.status_code == 201, r.text
        bad = {**EE_TARIFF, "elements": [{"price_components": [{"type": "KWH", "price": 1}]}]}
        r = await c.put("/partner-tariffs", json=bad)
        assert r.status_code == 422
        assert r.json()["detail"].startswith("elements[0].price_components[0].type:")
        r = await c.put("/partner-tariffs", json={**EE_TARIFF, "party_id": "XXX"})
        assert r.status_code == 404
        r = await c.put("/partner-tariffs", json={**EE_TARIFF, "party_id": "BIM",
                                                  "country_code": "LV"})
        assert r.status_code == 422  # our own CPO is not a partner
        r = await c.put(f"/agreements/{partner_id}",
                        json={"tolerance": "0.05", "time_zone": "Europe/Tallinn"})
        assert r.status_code == 200, r.text
        r = await c.put(f"/agreements/{partner_id}", json={"time_zone": "Mars/Olympus"})
        assert r.status_code == 422 and r.json()["detail"].startswith("time_zone:")
        assert (await c.put("/agreements/999", json={"tolerance": 1})).status_code == 404
        r = await c.put(f"/agreements/{partner_id}",
                        json={"tolerance": "0.05", "time_zone": "Europe/Tallinn"})

        r = await c.post("/repricing/run")
        assert r.status_code == 200, r.text
        run = loads(r.text)
        assert run["repriced"] == 4
        assert run["by_status"] == {"OK": 2, "OUTSIDE_TOLERANCE": 1, "NO_TARIFF": 1}
        by_id = {x["cdr_id"]: x for x in run["results"]}
        high = by_id["CDR-HIGH"]
        assert (high["claimed_excl_vat"], high["computed_excl_vat"]) == (D("3.50"), D("3.00"))
        assert high["difference_excl_vat"] == D("0.50") and high["tolerance"] == D("0.05")
        assert high["differences"][0]["field"] == "total_cost.excl_vat"
        assert by_id["CDR-NEAR"]["difference_excl_vat"] == D("0.04")
        assert "EE-DC" in by_id["CDR-UNKNOWN"]["message"]
        # Nothing new to re-price; "all" re-runs every received CDR.
        assert loads((await c.post("/repricing/run", json={})).text)["repriced"] == 0
        assert loads((await c.post("/repricing/run", json={"all": True})).text)["repriced"] == 4

        flagged = loads((await c.get("/repricing",
                                     params={"status": "outside_tolerance"})).text)
        assert [x["cdr_id"] for x in flagged] == ["CDR-HIGH"]
        expl = loads((await c.get("/cdrs/CDR-HIGH/explanation")).text)
        assert expl["repricing_status"] == "OUTSIDE_TOLERANCE"
        assert "Tariff EE-AC" in expl["text"] and "Europe/Tallinn" in expl["text"]
        # A credit is for our own CDRs: the partner's CPO credits its own.
        assert (await c.post("/cdrs/CDR-HIGH/credit")).status_code == 409
