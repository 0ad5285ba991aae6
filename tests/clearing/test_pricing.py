from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from clearing.money import RoundingPolicy, quantum
from clearing.pricing import price_session, session_hours
from clearing.vat import vat_rate
from hub.domain import (
    InvalidInput,
    PartyRef,
    PriceComponent,
    SessionFacts,
    Tariff,
    TariffElement,
)
from hub.ports import CdrPricer

D = Decimal
START = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def tariff(*elements: tuple[PriceComponent, ...], currency: str = "EUR") -> Tariff:
    return Tariff(PartyRef("LV", "BIM", "CPO"), "T1", currency,
                  tuple(TariffElement(e) for e in elements))


def facts(kwh: str, country: str = "LV", *, start: datetime = START,
          minutes: int = 60, tz: str = "Europe/Riga") -> SessionFacts:
    return SessionFacts("s1", start, start + timedelta(minutes=minutes), D(kwh), country, tz)


ENERGY_AND_START_FEE = tariff((PriceComponent("ENERGY", D("0.30")),
                               PriceComponent("FLAT", D("1.00"))))


def test_energy_plus_start_fee_in_latvia() -> None:
    price = price_session(facts("20"), ENERGY_AND_START_FEE)
    assert price.currency == "EUR"
    assert price.total_cost_excl_vat == D("7.00")
    assert price.vat_rate == D(21)
    assert price.vat_amount == D("1.47")
    assert price.total_cost_incl_vat == D("8.47")
    assert price.vat_country == "LV"
    assert price.total_energy_cost == D("6.00")
    assert price.total_fixed_cost == D("1.00")
    assert price.total_time_cost == D("0.00")
    assert [(ln.component, ln.volume, ln.unit, ln.unit_price, ln.amount_excl_vat)
            for ln in price.lines] == [
        ("FLAT", D(1), "session", D("1.00"), D("1.00")),
        ("ENERGY", D(20), "kWh", D("0.30"), D("6.00")),
    ]
    assert all(ln.vat_rate == D(21) for ln in price.lines)


def test_time_component_and_period() -> None:
    t = tariff((PriceComponent("TIME", D("2.00")),))
    price = price_session(facts("5", minutes=90), t)
    assert price.total_time == D("1.5")
    assert price.total_time_cost == D("3.00")
    assert price.total_cost_excl_vat == D("3.00")
    (period,) = price.periods
    assert period.start_date_time == START
    assert period.dimensions == (("ENERGY", D(5)), ("TIME", D("1.5")))
    assert period.tariff_id == "T1"


def test_estonian_vat_depends_on_the_local_end_date() -> None:
    t = tariff((PriceComponent("ENERGY", D("1.00")),))
    before = price_session(facts("10", "EE", start=datetime(2025, 6, 30, 10, tzinfo=UTC),
                                 tz="Europe/Tallinn"), t)
    after = price_session(facts("10", "EE", start=datetime(2025, 7, 1, 10, tzinfo=UTC),
                                tz="Europe/Tallinn"), t)
    assert (before.vat_rate, before.total_cost_incl_vat) == (D(22), D("12.20"))
    assert (after.vat_rate, after.total_cost_incl_vat) == (D(24), D("12.40"))
    # Ends 2025-06-30T21:30Z = 2025-07-01 00:30 in Tallinn: the new rate already applies.
    midnight = price_session(facts("10", "EE", start=datetime(2025, 6, 30, 21, tzinfo=UTC),
                                   minutes=30, tz="Europe/Tallinn"), t)
    assert midnight.vat_rate == D(24)


def test_finnish_vat_25_5() -> None:
    t = tariff((PriceComponent("ENERGY", D("0.40")),))
    price = price_session(facts("10", "FI", tz="Europe/Helsinki"), t)
    assert price.vat_rate == D("25.5")
    assert price.vat_amount == D("1.02")
    assert price.total_cost_incl_vat == D("5.02")
    assert vat_rate("FI", date(2024, 8, 31)) == D(24)
    assert vat_rate("FI", date(2024, 9, 1)) == D("25.5")


def test_rounding_is_half_up_at_totals_only() -> None:
    # 0.25 kWh x 0.50 = 0.125 exactly: half-up 0.13, banker's rounding would give 0.12.
    t = tariff((PriceComponent("ENERGY", D("0.50")),))
    price = price_session(facts("0.25"), t)
    assert price.lines[0].amount_excl_vat == D("0.125")  # the line stays exact
    assert price.total_cost_excl_vat == D("0.13")
    assert D("0.125").quantize(quantum("EUR"), rounding=ROUND_HALF_EVEN) == D("0.12")
    # VAT: 2.50 x 21% = 0.525 -> 0.53 (banker's: 0.52).
    vat_case = price_session(facts("10"), tariff((PriceComponent("ENERGY", D("0.25")),)))
    assert vat_case.vat_amount == D("0.53")
    assert vat_case.total_cost_incl_vat == D("3.03")
    banker = price_session(facts("10"), tariff((PriceComponent("ENERGY", D("0.25")),)),
                           policy=RoundingPolicy(ROUND_HALF_EVEN))
    assert banker.vat_amount == D("0.52")


def test_first_element_with_the_dimension_wins() -> None:
    t = tariff((PriceComponent("FLAT", D("0.50")),),
               (PriceComponent("ENERGY", D("0.20")), PriceComponent("FLAT", D("9.00"))),
               (PriceComponent("ENERGY", D("0.99")),))
    price = price_session(facts("10"), t)
    assert price.total_fixed_cost == D("0.50")
    assert price.total_energy_cost == D("2.00")
    assert price.total_cost_excl_vat == D("2.50")


def test_component_vat_overrides_the_country_rate() -> None:
    t = tariff((PriceComponent("ENERGY", D("1.00"), vat=D(0)),
                PriceComponent("FLAT", D("1.00"))))
    price = price_session(facts("10"), t)
    assert [ln.vat_rate for ln in price.lines] == [D(21), D(0)]
    assert price.vat_amount == D("0.21")  # only the start fee carries VAT
    assert price.total_cost_incl_vat == D("11.21")
    assert price.vat_rate == D(21)  # mixed rates: the country's standard rate is reported


def test_unknown_country_is_a_domain_error() -> None:
    with pytest.raises(InvalidInput, match="no VAT rate known for country 'XX'"):
        price_session(facts("1", "XX"), ENERGY_AND_START_FEE)
    with pytest.raises(InvalidInput):
        vat_rate("US", date(2026, 1, 1))


def test_no_tariff_prices_nothing() -> None:
    price = price_session(facts("12.5", "SE", tz="Europe/Stockholm"), None)
    assert price.currency == "EUR"
    assert (price.total_cost_excl_vat, price.vat_amount, price.total_cost_incl_vat) == (
        D(0), D(0), D(0))
    assert price.total_energy == D("12.5")
    assert [ln.note for ln in price.lines] == ["no tariff"]
    assert price.periods[0].tariff_id is None


def test_hours_come_from_utc_instants_across_dst() -> None:
    # Riga leaves summer time on 2026-10-25 at 04:00 local: 02:00 to 05:00 local is 4 hours.
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert session_hours(start, datetime(2026, 10, 25, 3, 0, tzinfo=UTC)) == D(4)


def test_rejects_negative_duration() -> None:
    bad = SessionFacts("s", START, START - timedelta(seconds=1), D(1), "LV")
    with pytest.raises(InvalidInput):
        price_session(bad, ENERGY_AND_START_FEE)


def test_price_session_is_a_cdr_pricer() -> None:
    pricer: CdrPricer = price_session
    assert pricer(facts("1"), None).total_cost_excl_vat == 0
