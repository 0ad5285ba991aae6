"""Revenue split (clearing.split): worked examples, the exact-sum property, stored rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing import entities as ents
from clearing.split import (
    SplitInput,
    SplitRule,
    check_rule,
    monthly_parts,
    rules_for,
    save_rule,
    split,
)
from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import Conflict, InvalidInput

D = Decimal
DAY = date(2026, 11, 10)
START = date(2026, 1, 1)


def rule(rule_id: int, role: str, code: str, basis: str, *, amount: str | None = None,
         percent: str | None = None, tax_rule: str = "DOMESTIC_VAT", vat: str = "25.5",
         scope: str = "ALL", scope_id: str | None = None, valid_from: date = START,
         valid_to: date | None = None, currency: str | None = None) -> SplitRule:
    return SplitRule(rule_id, role, code, basis,  # type: ignore[arg-type]
                     None if amount is None else D(amount),
                     None if percent is None else D(percent), tax_rule,  # type: ignore[arg-type]
                     D(vat), valid_from, valid_to, scope, scope_id,  # type: ignore[arg-type]
                     currency)


FINNISH_RULES = [
    rule(1, "RETAILER", "FI-RET", "PER_KWH", amount="0.0850"),
    rule(2, "DSO", "FI-DSO", "PER_KWH", amount="0.0420"),
    rule(3, "PAYMENT_PROVIDER", "FI-PSP", "PERCENT_PLUS_FIXED", amount="0.20", percent="1.9",
         tax_rule="EXEMPT", vat="0"),
    rule(4, "PLATFORM", "FI-PLT", "PERCENT", percent="10"),
    rule(5, "PLATFORM", "FI-PLT", "PER_SESSION", amount="0.10"),
    rule(6, "IT_PROVIDER", "FI-APP", "PER_KWH", amount="0.005"),
    rule(7, "PLATFORM", "FI-PLT", "MONTHLY_PER_CHARGE_POINT", amount="9.90"),
]


def test_a_finnish_session_split_among_all_parties_with_vat_per_part() -> None:
    """A driver pays 14.00 EUR incl. Finnish VAT 25.5 % for 30 kWh at a housing company's
    station (owner FI-ASOY). VAT of the sale: 14.00 - 14.00 / 1.255 = 2.8446 -> 2.84 (TAX).

    part              net                                 VAT (own rule)          gross
    RETAILER          0.0850 x 30 = 2.55                  25.5 %: 0.65025 -> 0.65  3.20
    DSO               0.0420 x 30 = 1.26                  25.5 %: 0.3213 -> 0.32   1.58
    PAYMENT_PROVIDER  1.9 % x 14.00 + 0.20 = 0.466 -> 0.47  exempt: 0              0.47
    PLATFORM          10 % x 14.00 = 1.40                 25.5 %: 0.357 -> 0.36    1.76
    PLATFORM          0.10 per session                    25.5 %: 0.0255 -> 0.03   0.13
    IT_PROVIDER       0.005 x 30 = 0.15                   25.5 %: 0.03825 -> 0.04  0.19
    TAX                                                                           2.84
    OWNER (remainder) 14.00 - (2.84+3.20+1.58+0.47+1.76+0.13+0.19 = 10.17)         3.83
    The monthly per-charge-point fee (rule 7) is not a session part.
    """
    inp = SplitInput(D("14.00"), D("2.84"), "EUR", D(30), "FI", DAY)
    parts = split(inp, FINNISH_RULES, residual_entity="FI-ASOY", tax_entity="FI-VERO")
    got = [(p.role, p.entity_code, p.net, p.vat, p.gross, p.rule_id) for p in parts]
    assert got == [
        ("TAX", "FI-VERO", D("0.00"), D("2.84"), D("2.84"), None),
        ("RETAILER", "FI-RET", D("2.55"), D("0.65"), D("3.20"), 1),
        ("DSO", "FI-DSO", D("1.26"), D("0.32"), D("1.58"), 2),
        ("PAYMENT_PROVIDER", "FI-PSP", D("0.47"), D("0.00"), D("0.47"), 3),
        ("PLATFORM", "FI-PLT", D("1.40"), D("0.36"), D("1.76"), 4),
        ("PLATFORM", "FI-PLT", D("0.10"), D("0.03"), D("0.13"), 5),
        ("IT_PROVIDER", "FI-APP", D("0.15"), D("0.04"), D("0.19"), 6),
        ("OWNER", "FI-ASOY", D("3.83"), D("0.00"), D("3.83"), None),
    ]
    assert sum(p.gross for p in parts) == D("14.00")
    assert parts[1].explanation == "0.0850 EUR/kWh x 30 kWh = 2.55; VAT 25.5% = 0.65"
    assert parts[3].explanation.startswith("1.9% x 14.00 EUR paid + 0.20 EUR = 0.47; EXEMPT")
    assert "remainder" in parts[-1].explanation


def test_monthly_fee_per_charge_point_of_a_swedish_owner() -> None:
    """A Swedish owner with 12 charge points pays the platform 99 SEK per charge point per
    month: 99 x 12 = 1188.00 SEK net, VAT 25 % = 297.00, gross 1485.00."""
    fee = rule(9, "PLATFORM", "SE-PLT", "MONTHLY_PER_CHARGE_POINT", amount="99", vat="25",
               currency="SEK")
    parts = monthly_parts([fee, *FINNISH_RULES[:1]], 12, "SEK", date(2026, 11, 17))
    assert [(p.net, p.vat, p.gross, p.rule_id) for p in parts] == [
        (D("1188.00"), D("297.00"), D("1485.00"), 9)]
    assert "x 12 charge points (2026-11)" in parts[0].explanation
    assert monthly_parts([replace(fee, valid_from=date(2026, 12, 1))], 12, "SEK", DAY) == []
    with pytest.raises(InvalidInput, match="in SEK"):
        monthly_parts([fee], 12, "EUR", DAY)


def test_remainder_rule_credit_and_bad_combinations() -> None:
    """With a REMAINDER rule the remainder carries its entity and id. A credit (-14.00) is the
    mirror image of the sale, part by part."""
    rest = rule(8, "OWNER", "FI-ASOY", "REMAINDER", tax_rule="OUT_OF_SCOPE", vat="0")
    inp = SplitInput(D("14.00"), D("2.84"), "EUR", D(30), "FI", DAY)
    parts = split(inp, [*FINNISH_RULES, rest], residual_entity="X", tax_entity="FI-VERO")
    assert (parts[-1].entity_code, parts[-1].rule_id, parts[-1].gross) == ("FI-ASOY", 8,
                                                                          D("3.83"))
    credit = split(replace(inp, gross=D("-14.00"), vat=D("-2.84"), energy_kwh=D(-30)),
                   FINNISH_RULES, residual_entity="FI-ASOY", tax_entity="FI-VERO")
    assert [p.gross for p in credit] == [-p.gross for p in parts]
    assert sum(p.gross for p in credit) == D("-14.00")
    with pytest.raises(InvalidInput, match="more than one REMAINDER"):
        split(inp, [rest, replace(rest, id=9)], residual_entity="X", tax_entity="T")
    with pytest.raises(InvalidInput, match="rule 1: its amounts are in SEK"):
        split(inp, [replace(FINNISH_RULES[0], currency="SEK")], residual_entity="X",
              tax_entity="T")


def test_rules_outside_their_dates_do_not_apply_and_fees_above_revenue_go_negative() -> None:
    """valid_to is exclusive. A 0.50 EUR session with a 0.60 per-session fee: the owner's
    remainder is 0.50 - 0.10 (TAX) - 0.60 = -0.20 (the owner owes it)."""
    old = rule(1, "PLATFORM", "P", "PER_SESSION", amount="0.60", vat="0",
               tax_rule="REVERSE_CHARGE", valid_to=DAY)
    inp = SplitInput(D("0.50"), D("0.10"), "EUR", D(1), "FI", DAY)
    assert [p.role for p in split(inp, [old], residual_entity="O", tax_entity="T")] == [
        "TAX", "OWNER"]
    parts = split(replace(inp, on=date(2026, 11, 9)), [old], residual_entity="O",
                  tax_entity="T")
    assert parts[-1].gross == D("-0.20") and sum(p.gross for p in parts) == D("0.50")


@pytest.mark.parametrize(("change", "message"), [
    ({"amount": None}, "amount: required"),
    ({"percent": D(5)}, "percent: not allowed"),
    ({"basis": "PER_MINUTE"}, "basis: must be one of"),
    ({"role": "TAX"}, "role: must be one of"),
    ({"scope": "OWNER"}, "scope_id: required"),
    ({"tax_rule": "EXEMPT"}, "vat_rate: must be 0"),
    ({"valid_to": START}, "valid_to: must be after valid_from"),
    ({"amount": D(-1)}, "amount: must not be negative"),
    ({"amount": D("0.0000001")}, "amount: at most 6 decimals"),
    ({"amount": D("1E30")}, "amount: must be a number below"),
])
def test_rule_validation_names_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_rule(replace(FINNISH_RULES[0], **change))  # type: ignore[arg-type]


money = st.decimals(min_value=D("0.00"), max_value=D("5000.00"), places=2)
rules_strategy = st.lists(st.one_of(
    st.builds(lambda a: rule(1, "RETAILER", "R", "PER_KWH", amount=str(a)),
              st.decimals(min_value=0, max_value=D("0.9"), places=4)),
    st.builds(lambda a: rule(2, "PLATFORM", "P", "PER_SESSION", amount=str(a), vat="24"),
              st.decimals(min_value=0, max_value=5, places=2)),
    st.builds(lambda p: rule(3, "PLATFORM", "P", "PERCENT", percent=str(p), vat="21"),
              st.decimals(min_value=0, max_value=30, places=3)),
    st.builds(lambda p, a: rule(4, "PAYMENT_PROVIDER", "S", "PERCENT_PLUS_FIXED",
                                percent=str(p), amount=str(a), tax_rule="EXEMPT", vat="0"),
              st.decimals(min_value=0, max_value=5, places=2),
              st.decimals(min_value=0, max_value=1, places=2)),
), max_size=6)


@given(gross=money, vat_share=st.decimals(min_value=0, max_value=D("0.3"), places=4),
       kwh=st.decimals(min_value=0, max_value=500, places=3), rules=rules_strategy,
       credit=st.booleans())
def test_parts_always_add_up_exactly_to_the_whole(gross: Decimal, vat_share: Decimal,
                                                  kwh: Decimal, rules: list[SplitRule],
                                                  credit: bool) -> None:
    vat = (gross * vat_share).quantize(D("0.01"))
    sign = -1 if credit else 1
    inp = SplitInput(sign * gross, sign * vat, "EUR", sign * kwh, "FI", DAY)
    parts = split(inp, rules, residual_entity="O", tax_entity="T")
    assert sum(p.gross for p in parts) == inp.gross
    assert all(p.net + p.vat == p.gross for p in parts)
    assert all(p.gross == p.gross.quantize(D("0.01")) for p in parts)
    assert parts[0].role == "TAX" and parts[-1].entity_code == "O"


async def test_rules_for_picks_the_most_specific_scope(hub_ctx: HubContext) -> None:
    """Default platform fee 12 % for everyone; the owner FI-ASOY negotiated 10 %; its station
    FI-ST-1 has a per-kWh platform fee instead. The retailer rule (ALL) applies everywhere."""
    async with transaction(hub_ctx.sessionmaker) as s:
        for code in ("FI-ASOY", "FI-PLT", "FI-RET"):
            await ents.create_entity(s, code, {"name": code, "country": "FI"})
        base = await save_rule(s, replace(FINNISH_RULES[0], id=0))
        await save_rule(s, rule(0, "PLATFORM", "FI-PLT", "PERCENT", percent="12"))
        owner = await save_rule(s, rule(0, "PLATFORM", "FI-PLT", "PERCENT", percent="10",
                                        scope="OWNER", scope_id="FI-ASOY"))
        station = await save_rule(s, rule(0, "PLATFORM", "FI-PLT", "PER_KWH", amount="0.02",
                                          scope="STATION", scope_id="FI-ST-1"))
        ended = await save_rule(s, rule(0, "RETAILER", "FI-RET", "PER_SESSION", amount="1",
                                        valid_to=DAY))
        with pytest.raises(Conflict, match="overlapping"):
            await save_rule(s, rule(0, "PLATFORM", "FI-PLT", "PERCENT", percent="11",
                                    valid_from=date(2026, 6, 1)))
        with pytest.raises(InvalidInput, match="scope_id: unknown owner"):
            await save_rule(s, rule(0, "PLATFORM", "FI-PLT", "PERCENT", percent="10",
                                    scope="OWNER", scope_id="NOPE"))

    async with transaction(hub_ctx.sessionmaker) as s:
        anyone = await rules_for(s, owner_code=None, location_id=None, station_id=None, on=DAY)
        mine = await rules_for(s, owner_code="FI-ASOY", location_id="L1", station_id="FI-ST-2",
                               on=DAY)
        st1 = await rules_for(s, owner_code="FI-ASOY", location_id="L1", station_id="FI-ST-1",
                              on=DAY)
        before = await rules_for(s, owner_code=None, location_id=None, station_id=None,
                                 on=date(2026, 11, 9))
    assert [(r.role, r.percent) for r in anyone] == [("RETAILER", None), ("PLATFORM", D(12))]
    assert [r.id for r in mine] == [base.id, owner.id]
    assert [r.id for r in st1] == [base.id, station.id]
    assert ended.id in [r.id for r in before] and ended.id not in [r.id for r in anyone]
    assert st1[1].entity_code == "FI-PLT" and st1[1].amount == D("0.02")
