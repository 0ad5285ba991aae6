from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from clearing.pricing import price_session
from hub.domain import PartyRef, PriceComponent, SessionFacts, Tariff, TariffElement

START = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
prices = st.decimals(min_value=0, max_value=5, places=4)
energies = st.decimals(min_value=0, max_value=500, places=3)
countries = st.sampled_from(["LV", "EE", "LT", "FI", "SE", "NO", "DK", "PL", "DE"])


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    components = tuple(
        PriceComponent(kind, draw(prices))
        for kind in ("ENERGY", "FLAT", "TIME") if draw(st.booleans())
    )
    # The engine rejects an element without price components (mod_tariffs: price_components
    # is "+"); the skeleton priced it as zero. An empty draw becomes the spec's free tariff.
    components = components or (PriceComponent("FLAT", Decimal(0)),)
    return Tariff(PartyRef("LV", "BIM", "CPO"), "P", "EUR", (TariffElement(components),))


def session(kwh: Decimal, country: str, seconds: int) -> SessionFacts:
    return SessionFacts("s", START, START + timedelta(seconds=seconds), kwh, country)


@given(tariffs(), energies, countries, st.integers(min_value=0, max_value=86_400))
def test_totals_equal_the_rounded_sum_of_lines(t: Tariff, kwh: Decimal, country: str,
                                               seconds: int) -> None:
    price = price_session(session(kwh, country, seconds), t)
    lines_sum = sum((ln.amount_excl_vat for ln in price.lines), Decimal(0))
    assert price.total_cost_excl_vat == lines_sum.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert price.total_cost_incl_vat == price.total_cost_excl_vat + price.vat_amount
    expected_vat = (price.total_cost_excl_vat * price.vat_rate / 100).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    assert price.vat_amount == expected_vat
    for ln in price.lines:
        assert ln.amount_excl_vat == ln.volume * ln.unit_price


@given(tariffs(), energies, energies, countries)
def test_more_energy_never_costs_less(t: Tariff, a: Decimal, b: Decimal, country: str) -> None:
    low, high = sorted((a, b))
    cheap = price_session(session(low, country, 3600), t)
    dear = price_session(session(high, country, 3600), t)
    assert dear.total_cost_excl_vat >= cheap.total_cost_excl_vat
    assert dear.total_cost_incl_vat >= cheap.total_cost_incl_vat
