"""Credit CDRs, explanations, re-pricing and the pricer used for our own sessions."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from clearing.pricing import price_session
from clearing.tariffs import (
    TariffError,
    credit_cdr,
    explanation_json,
    explanation_text,
    parse_tariff,
)
from clearing.tariffs.reprice import reprice
from hub.domain import PartyRef, PriceComponent, SessionFacts, Tariff, TariffElement
from tests.clearing.tariff_helpers import EXAMPLES, D, at, example, session


def test_credit_cdr_negates_every_cost_and_references_the_original() -> None:
    original = json.loads((EXAMPLES / "cdr_example.json").read_text(), parse_float=Decimal)
    credit = credit_cdr(original, now=at(2026, 3, 2, 12))
    assert (credit["id"], credit["credit"], credit["credit_reference_id"]) == (
        "12345-C", True, "12345")
    assert credit["total_cost"] == {"excl_vat": D("-4.00"), "incl_vat": D("-4.40")}
    assert credit["total_time_cost"] == {"excl_vat": D("-4.00"), "incl_vat": D("-4.40")}
    assert credit["charging_periods"] == original["charging_periods"]
    assert original["total_cost"]["excl_vat"] == D("4.00")  # the original is untouched
    with pytest.raises(TariffError, match="cannot itself be credited"):
        credit_cdr(credit)


def test_explanation_names_elements_steps_and_clamps() -> None:
    p = session(example("tariff_6_025kwh_start_max_price.json"), at(2019, 6, 1, 10), 120, "50")
    data = explanation_json(p)
    kinds = [(ln["dimension"], ln["kind"], ln["element"]) for ln in data["lines"]]
    assert kinds == [("FLAT", "usage", 0), ("ENERGY", "usage", 0), ("MAX_PRICE", "clamp", None)]
    assert data["lines"][2]["amount_excl_vat"] == D("-3.00")
    text = explanation_text(p)
    assert "max_price: lines total 13 excl. VAT" in text
    assert "ENERGY from elements[0].price_components[1]" in text


def test_reprice_reports_differences_beyond_the_tolerance() -> None:
    cdr = json.loads((EXAMPLES / "cdr_example.json").read_text(), parse_float=Decimal)
    tariff = parse_tariff(cdr["tariffs"][0])
    assert reprice(cdr, tariff, "Europe/Brussels").within_tolerance
    cdr["total_cost"] = {"excl_vat": D("4.50"), "incl_vat": D("4.95")}
    result = reprice(cdr, tariff, "Europe/Brussels", tolerance=D("0.10"))
    assert [(d.field, d.delta) for d in result.differences] == [
        ("total_cost.excl_vat", D("0.50")), ("total_cost.incl_vat", D("0.55"))]
    assert reprice(cdr, tariff, "Europe/Brussels", tolerance=D("1")).within_tolerance


def test_our_sessions_are_split_at_restriction_boundaries() -> None:
    # Night energy 22:00-06:00 Riga at 0.10, day 0.40: 21:00-23:00 local, 10 kWh.
    t = Tariff(PartyRef("LV", "BIM", "CPO"), "N", "EUR", (
        TariffElement((PriceComponent("ENERGY", D("0.10")),),
                      {"start_time": "22:00", "end_time": "06:00"}),
        TariffElement((PriceComponent("ENERGY", D("0.40")),))))
    start = at(2026, 7, 1, 18)
    price = price_session(SessionFacts("s", start, start + timedelta(hours=2), D(10), "LV",
                                       "Europe/Riga"), t)
    assert [p.start_date_time for p in price.periods] == [start, at(2026, 7, 1, 19)]
    assert price.total_cost_excl_vat == D("2.50")
    assert price.total_cost_incl_vat == D("3.03")  # LV 21% on 2.50 = 0.525 -> 0.53
    assert [ln.note for ln in price.lines] == [
        "elements[1].price_components[0]", "elements[0].price_components[0]"]
