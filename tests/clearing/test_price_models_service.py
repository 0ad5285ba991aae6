"""The three remaining price models: cost-price pass-through for housing cooperatives (shares
that add up to the invoice exactly), a voucher included in another service, an ad-hoc
surcharge with a monthly billing fee. Pure functions, JSON round-trip, OCPI tariffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.models import (
    AdHocSurcharge,
    CostPrice,
    MeterInvoice,
    SessionInput,
    Voucher,
    parse_model,
)
from clearing.tariffs import parse_tariff
from hub.domain import InvalidInput
from hub.settings import Settings
from tests.clearing.admin_helpers import loads, seed_with_partner

D = Decimal
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
INVOICE = MeterInvoice(D(1000), {"energy": D("120.00"), "network": D("60.00"),
                                 "taxes": D("25.10")})


def s(kwh: str, **kw: object) -> SessionInput:
    return SessionInput(T0, T0 + timedelta(hours=1), D(kwh), **kw)  # type: ignore[arg-type]


def test_cost_price_shares_add_up_to_the_invoice_with_the_remainder_rule() -> None:
    model = CostPrice("EUR", roaming_kwh_price=D("0.35"))
    a = model.allocate(INVOICE, {"flat 1": D(100), "flat 2": D(200), "flat 3": D("0.5")},
                       {"laundry": D(300)})
    assert [(x.payer, x.role) for x in a.shares] == [
        ("flat 1", "user"), ("flat 2", "user"), ("flat 3", "user"),
        ("laundry", "other_load"), ("cooperative", "common")]
    assert a.share("cooperative").kwh == D("399.5")  # invoiced beyond the measured kWh
    assert sum((x.total for x in a.shares), D(0)) == INVOICE.total == D("205.10")
    for name, amount in INVOICE.components.items():
        assert sum((x.amounts[name] for x in a.shares), D(0)) == amount
    # flat 1: 100 kWh x 0.2051 = 20.51 exactly (12.00 + 6.00 + 2.51)
    assert a.share("flat 1").amounts == {"energy": D("12.00"), "network": D("6.00"),
                                         "taxes": D("2.51")}
    assert a.cost_per_kwh["taxes"] == D("0.0251")
    # Taxes 25.10: exact shares 2.51, 5.02, 0.01255, 7.53, 10.02745; the floors leave one
    # cent, which goes to the largest discarded fraction: the cooperative's (0.00745 >
    # flat 3's 0.00255).
    assert a.share("flat 3").amounts["taxes"] == D("0.01")
    assert a.share("cooperative").amounts["taxes"] == D("10.03")


def test_cost_price_ties_go_to_more_kwh_then_to_the_earlier_payer() -> None:
    model = CostPrice("EUR", D("0.30"))
    three = model.allocate(MeterInvoice(D(3), {"energy": D("1.00")}),
                           {"a": D(1), "b": D(1), "c": D(1)})
    assert [x.total for x in three.shares] == [D("0.34"), D("0.33"), D("0.33")]
    weighted = model.allocate(MeterInvoice(D(3), {"energy": D("0.02")}),
                              {"a": D("0.5"), "b": D(1)}, {"pump": D("1.5")})
    assert [x.total for x in weighted.shares] == [D("0.00"), D("0.01"), D("0.01")]


@given(kwhs=st.lists(st.integers(0, 5000), min_size=1, max_size=8),
       extra=st.integers(0, 500), cents=st.lists(st.integers(0, 10**7), min_size=1,
                                                  max_size=3))
def test_cost_price_shares_always_sum_to_the_invoice(kwhs: list[int], extra: int,
                                                     cents: list[int]) -> None:
    total_kwh = D(sum(kwhs) + extra) or D(1)
    invoice = MeterInvoice(total_kwh, {f"c{i}": D(c) / 100 for i, c in enumerate(cents)})
    a = CostPrice("EUR", D(0)).allocate(invoice, {f"u{i}": D(k) for i, k in enumerate(kwhs)})
    assert sum((x.total for x in a.shares), D(0)) == invoice.total
    for x in a.shares:  # nobody pays more than a cent above their exact share per component
        exact = sum((amt * x.kwh / total_kwh for amt in invoice.components.values()), D(0))
        assert abs(x.total - exact) < D("0.01") * len(cents)


def test_cost_price_bad_input_names_the_field() -> None:
    model = CostPrice("EUR", D("0.30"))
    with pytest.raises(InvalidInput, match="user_kwh: the measured 1200 kWh exceed"):
        model.allocate(INVOICE, {"a": D(1200)})
    with pytest.raises(InvalidInput, match=r"other_loads\.a: the same payer twice"):
        model.allocate(INVOICE, {"a": D(1)}, {"a": D(1)})
    with pytest.raises(InvalidInput, match=r"invoice\.kwh: must be more than 0"):
        model.allocate(MeterInvoice(D(0), {"energy": D(1)}), {})
    with pytest.raises(InvalidInput, match=r"invoice\.components\.energy: more decimals"):
        model.allocate(MeterInvoice(D(10), {"energy": D("1.005")}), {"a": D(1)})
    with pytest.raises(InvalidInput, match=r"invoice\.components\.network"):
        MeterInvoice.from_json({"kwh": 10, "components": {"network": -1}})
    with pytest.raises(InvalidInput, match=r"user_kwh\.b"):
        model.allocate(INVOICE, {"b": D(-1)})
    tariff = model.to_ocpi_tariff("LV", "BIM", "COOP")
    assert parse_tariff(tariff).elements[0].components[0].price == D("0.30")
    assert "actual cost per kWh" in tariff["tariff_alt_text"][0]["text"]


def test_voucher_takes_up_to_the_limit_per_session_or_per_ticket() -> None:
    v = Voucher("EUR", kwh_price=D("0.40"), limit=D("5.00"), service="parking ticket")
    assert v.price(s("10")).total_excl_vat == D("0.00")  # 4.00 fully included
    p = v.price(s("20"))  # 8.00, 5.00 off
    assert p.total_excl_vat == D("3.00")
    assert [ln.label for ln in p.lines][-1] == "included with the parking ticket"
    assert v.price(s("20", voucher=False)).total_excl_vat == D("8.00")
    ticket = Voucher("EUR", D("0.40"), D("5.00"), per="TICKET", token_group="PARK")
    assert ticket.price(s("10", token_group="PARK", voucher_redeemed=D(3))).total_excl_vat \
        == D("2.00")  # 2.00 left on the ticket
    assert ticket.price(s("10", token_group="PARK", voucher_redeemed=D(9))).total_excl_vat \
        == D("4.00")
    assert ticket.price(s("10", token_group="OTHER")).total_excl_vat == D("4.00")
    with pytest.raises(InvalidInput, match="per:"):
        parse_model({**v.to_json(), "per": "DAY"})
    with pytest.raises(InvalidInput, match="limit: must not be negative"):
        parse_model({**v.to_json(), "limit": "-1"})
    tariff = v.to_ocpi_tariff("LV", "BIM", "PARK")
    assert parse_tariff(tariff).elements[0].components[0].price == D("0.40")
    assert "parking ticket" in tariff["tariff_alt_text"][0]["text"]


def test_adhoc_surcharge_and_monthly_billing_fee() -> None:
    m = AdHocSurcharge("EUR", kwh_price=D("0.30"), adhoc_surcharge=D("1.50"),
                       monthly_billing_fee=D("2.00"), vat=D(21))
    assert m.price(s("10")).total_excl_vat == D("3.00")
    unregistered = m.price(s("10", registered=False))
    assert unregistered.total_excl_vat == D("4.50")
    assert unregistered.total_incl_vat == D("5.45")  # 4.50 + 0.945 -> 0.95
    month = m.price_month([D("3.00"), D("1.25")])
    assert month.total_excl_vat == D("6.25")
    assert m.price_month([]).total_excl_vat == D("0.00")
    with pytest.raises(InvalidInput, match="session_totals"):
        m.price_month([D(-1)])
    regular = m.to_ocpi_tariff("LV", "BIM", "AH")
    assert "monthly billing fee of 2.00" in regular["tariff_alt_text"][0]["text"]
    adhoc = parse_tariff(m.ad_hoc_tariff("LV", "BIM", "AH"))
    assert adhoc.type == "AD_HOC_PAYMENT" and adhoc.elements[0].components[0].price == D("1.50")


def test_new_models_round_trip_through_json() -> None:
    for model in (CostPrice("EUR", D("0.3"), "housing coop"),
                  Voucher("EUR", D("0.4"), D(5), "shop receipt", D(1), "TICKET", "PARK"),
                  AdHocSurcharge("SEK", D(3), D(10), D(25), vat=D(25))):
        assert parse_model(model.to_json()) == model
    with pytest.raises(InvalidInput, match="adhoc_surcharge: is required"):
        parse_model({"kind": "adhoc_surcharge", "currency": "EUR", "kwh_price": 1})
    with pytest.raises(InvalidInput, match="roaming_kwh_price: must be a number"):
        parse_model({"kind": "cost_price", "currency": "EUR", "roaming_kwh_price": "x"})


async def test_cost_price_and_links_through_the_admin_api(settings: Settings,
                                                          start_hub: Any) -> None:
    hub = await start_hub(settings)
    await seed_with_partner(hub.ctx)
    coop = {"kind": "cost_price", "currency": "EUR", "roaming_kwh_price": "0.35"}
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin") as c:
        assert (await c.put("/price-models/COOP", json=coop)).status_code == 201
        body = {"invoice": {"kwh": 1000, "components": {"energy": "120.00", "network": 60,
                                                        "taxes": "25.10"}},
                "user_kwh": {"flat 1": 100, "flat 2": 200}, "other_loads": {"laundry": 300}}
        out = loads((await c.post("/price-models/COOP/price", json=body)).text)
        assert [sh["payer"] for sh in out["shares"]] == ["flat 1", "flat 2", "laundry",
                                                         "cooperative"]
        assert sum(sh["total"] for sh in out["shares"]) == out["invoice_total"] == D("205.10")
        r = await c.post("/price-models/COOP/price", json={**body, "user_kwh": {"x": 2000}})
        assert r.status_code == 422 and r.json()["detail"].startswith("user_kwh:")
        r = await c.put("/price-models/COOP/links", json={"scope": "LOCATION",
                                                          "target": "RIGA-001"})
        assert r.status_code == 422 and "prices a period" in r.json()["detail"]
        voucher = {"kind": "voucher", "currency": "EUR", "kwh_price": "0.40", "limit": 5}
        assert (await c.put("/price-models/PARK", json=voucher)).status_code == 201
        r = await c.put("/price-models/PARK/links", json={"scope": "LOCATION",
                                                          "target": "RIGA-001"})
        assert r.status_code == 200, r.text
        assert (await c.get("/price-model-links")).json() == [
            {"model_id": "PARK", "scope": "LOCATION", "target": "RIGA-001"}]
        assert (await c.delete("/price-model-links/LOCATION/RIGA-001")).status_code == 204
        assert (await c.delete("/price-model-links/LOCATION/RIGA-001")).status_code == 404
