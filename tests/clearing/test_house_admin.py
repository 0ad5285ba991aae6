"""The clearing house through the admin API of a running hub: a partner's CDR outside the
tolerance is disputed, answered and accepted; the close issues the partner's invoice (PDF and
a valid UBL to download); a closed period refuses a second close; ledger and statements."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select

from clearing.entities import create_entity, map_party
from clearing.finance.ubl import validate_ubl
from hub.db.base import transaction
from hub.db.models import PartyRow
from hub.settings import Settings
from tests.clearing.admin_helpers import (
    loads,
    received_cdr_json,
    seed_with_partner,
    store_received,
)
from tests.clearing.test_admin_repricing import EE_TARIFF

D = Decimal


async def _entities(ctx) -> None:  # type: ignore[no-untyped-def]
    async with transaction(ctx.sessionmaker) as s:
        await create_entity(s, "LV-BIM", {"name": "Latvian network", "country": "LV",
                                          "vat_id": "LV40003000001"}, is_own=True)
        await create_entity(s, "EE-ELM", {"name": "Elmo Rent", "country": "EE",
                                          "vat_id": "EE100000001"})
        for p in (await s.scalars(select(PartyRow))).all():
            await map_party(s, p.id, "LV-BIM" if p.country_code == "LV" else "EE-ELM")


async def test_dispute_workflow_close_and_downloads(settings: Settings, start_hub) -> None:
    """CDR-OK claims 3.00 (10 kWh x 0.25 + 0.50 = 3.00: within 0.01) and is accepted;
    CDR-HIGH claims 3.50 and is disputed. Answered, then resolved ACCEPT: it is booked at the
    claimed 3.50. EE-ELM (EE) supplies LV-BIM (LV) in Estonia, B2B cross-border, reverse
    charge: the invoice EE-ELM-000001 is 3.00 + 3.50 = 6.50 net, 0 VAT, payable 6.50."""
    hub = await start_hub(settings)
    partner_id = await seed_with_partner(hub.ctx)
    await _entities(hub.ctx)
    await store_received(hub.ctx, partner_id, received_cdr_json("CDR-OK", "3.00"))
    await store_received(hub.ctx, partner_id, received_cdr_json("CDR-HIGH", "3.50"))
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin/clearing") as c:
        r = await c.put(f"{hub.url}/admin/partner-tariffs", json=EE_TARIFF)
        assert r.status_code == 201, r.text
        r = await c.put("/agreements", json={"entity_a": "LV-BIM", "entity_b": "EE-ELM",
                                             "b2b_vat_option": "SOMETIMES"})
        assert r.status_code == 422 and "b2b_vat_option" in r.json()["detail"]
        r = await c.put("/agreements", json={"entity_a": "EE-ELM", "entity_b": "LV-BIM",
                                             "payment_terms_days": 14})
        assert loads(r.text)["entities"] == ["LV-BIM", "EE-ELM"]  # one per pair
        assert (loads(r.text)["b2b_vat_option"], loads(r.text)["payment_terms_days"]) == (
            "REVERSE_CHARGE", 14)
        r = await c.post("/run", json={"period": "2026-13"})
        assert r.status_code == 422 and "YYYY-MM" in r.json()["detail"]
        r = await c.post("/run", json={"period": "2026-11"})
        assert loads(r.text)["by_state"] == {"accepted": 1, "disputed": 1}, r.text
        [dispute] = loads((await c.get("/disputes")).text)
        assert (dispute["cdr_id"], dispute["status"]) == ("CDR-HIGH", "OPEN")
        assert "tolerance" in dispute["reason"]
        r = await c.post(f"/disputes/{dispute['id']}/answer", json={"answer": "idle fee"})
        assert loads(r.text)["status"] == "ANSWERED"
        r = await c.post(f"/disputes/{dispute['id']}/resolve", json={"resolution": "MAYBE"})
        assert r.status_code == 422
        r = await c.post(f"/disputes/{dispute['id']}/resolve", json={"resolution": "accept"})
        assert (loads(r.text)["status"], loads(r.text)["resolution"]) == ("RESOLVED", "ACCEPT")
        r = await c.post(f"/disputes/{dispute['id']}/resolve", json={"resolution": "CREDIT"})
        assert r.status_code == 409

        r = await c.post("/close", json={"period": "2026-11"})
        closed = loads(r.text)
        assert closed["invoices"] == ["EE-ELM-000001"], r.text
        [inv] = loads((await c.get("/invoices", params={"period": "2026-11"})).text)
        assert (inv["issuer"], inv["buyer"], inv["total_net"], inv["total_vat"],
                inv["total_gross"]) == ("EE-ELM", "LV-BIM", D("6.50"), D(0), D("6.50"))
        assert date.fromisoformat(inv["due_date"]) - date.fromisoformat(
            inv["issue_date"]) == timedelta(days=14)
        pdf = await c.get("/invoices/EE-ELM-000001.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        xml = await c.get("/invoices/EE-ELM-000001.xml")
        assert validate_ubl(xml.content) == []
        assert b"CDR-HIGH" in xml.content  # traceable to its CDRs
        r = await c.post("/close", json={"period": "2026-11"})
        assert (loads(r.text)["closed"], loads(r.text)["already_closed"]) == (
            [], closed["closed"])
        r = await c.post(f"/periods/{closed['closed'][0]}/close")
        assert r.status_code == 409 and "locked" in r.json()["detail"]

        history = loads((await c.get("/cdrs/2")).text)["history"]
        assert [h["to"] for h in history][-3:] == ["disputed", "accepted", "invoiced"]
        balances = loads((await c.get("/ledger/balances", params={"entity": "EE-ELM"})).text)
        assert [(b["account"], b["balance"]) for b in balances] == [
            ("2000-payable", D("-6.50"))]
        sts = loads((await c.get("/statements", params={"period": "2026-11",
                                                       "entity": "LV-BIM"})).text)
        assert [(x["reference"], x["gross_amount"]) for x in sts[0]["lines"]] == [
            ("CDR-OK", D("-3.00")), ("CDR-HIGH", D("-3.50"))]
        r = await c.post("/disputes", json={"cdr_pk": 1, "reason": "too late"})
        assert r.status_code == 409  # invoiced: a correction is a credit CDR now
        assert loads((await c.get("/exceptions")).text) == []
        periods = loads((await c.get("/periods")).text)
        assert [(p["label"], p["status"]) for p in periods] == [("2026-11", "CLOSED"),
                                                                ("2026-12", "OPEN")]
        assert periods[0]["start"] == date(2026, 11, 1).isoformat()
