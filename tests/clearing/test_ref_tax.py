"""Tax determination per line (clearing.tax) with worked examples; rates from the dated table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clearing import vat as vat_table
from clearing.tax import (
    TaxParty,
    UnknownVatRate,
    determine,
    excise_per_kwh,
    vat_amount,
    vat_in_gross,
    vat_rate,
)
from hub.domain import DomainError, InvalidInput

D = Decimal
LV_CPO = TaxParty("LV", "LV40003000000")
EE_EMSP = TaxParty("EE", "EE100000000")
NO_EMSP = TaxParty("NO", "NO999999999MVA")
DAY = date(2026, 11, 10)


def test_estonian_emsp_buying_a_latvian_session_under_each_b2b_option() -> None:
    """An Estonian eMSP's driver charges 20 kWh at a Latvian CPO's station in Riga; the CPO
    invoices the eMSP 20 kWh x 0.50 EUR = 10.00 EUR net.

    REVERSE_CHARGE: no Latvian VAT on the invoice (rate 0, VAT 0.00, total 10.00); the eMSP
    self-assesses Estonian VAT (24 % since 2025-07-01: 2.40) and deducts it in the same return.
    CHARGING_COUNTRY_VAT: Latvian VAT 21 % (since 2012-07-01): 10.00 x 0.21 = 2.10, total 12.10.
    """
    net = D("10.00")
    rc = determine(supplier=LV_CPO, customer=EE_EMSP, country_of_supply="LV", on=DAY)
    assert (rc.rule, rc.rate, rc.vat_country) == ("REVERSE_CHARGE", D(0), "EE")
    assert (rc.supplier_country, rc.customer_country, rc.country_of_supply) == ("LV", "EE", "LV")
    assert "reverse charge" in rc.reason and "196" in rc.reason
    assert vat_amount(net, rc, "EUR") == D("0.00")
    assert vat_rate("EE", DAY) == (D(24), date(2025, 7, 1))  # what the eMSP self-assesses

    cc = determine(supplier=LV_CPO, customer=EE_EMSP, country_of_supply="LV", on=DAY,
                   b2b_option="CHARGING_COUNTRY_VAT")
    assert (cc.rule, cc.rate, cc.rate_effective_from, cc.vat_country) == (
        "DOMESTIC_VAT", D(21), date(2012, 7, 1), "LV")
    assert vat_amount(net, cc, "EUR") == D("2.10")
    assert net + vat_amount(net, cc, "EUR") == D("12.10")


def test_driver_pays_the_charging_countrys_vat_whatever_the_option() -> None:
    """An Estonian driver at a Latvian station: LV 21 %, even with a reverse-charge agreement
    (a consumer cannot self-assess): 12.40 net -> 2.604 -> 2.60 VAT."""
    driver = TaxParty("EE", business=False)
    d = determine(supplier=LV_CPO, customer=driver, country_of_supply="LV", on=DAY)
    assert (d.rule, d.rate, d.vat_country) == ("DOMESTIC_VAT", D(21), "LV")
    assert "driver" in d.reason
    assert vat_amount(D("12.40"), d, "EUR") == D("2.60")


def test_business_without_vat_id_and_domestic_b2b() -> None:
    """No VAT id: no reverse charge possible -> charging country's VAT. LV CPO -> LV eMSP in LV:
    domestic 21 %."""
    no_id = determine(supplier=LV_CPO, customer=TaxParty("EE"), country_of_supply="LV", on=DAY)
    assert (no_id.rule, no_id.rate, no_id.vat_country) == ("DOMESTIC_VAT", D(21), "LV")
    assert "without a VAT id" in no_id.reason
    dom = determine(supplier=LV_CPO, customer=TaxParty("LV", "LV40003999999"),
                    country_of_supply="LV", on=DAY)
    assert (dom.rule, dom.rate) == ("DOMESTIC_VAT", D(21)) and "domestic" in dom.reason


def test_norway_outside_the_eu() -> None:
    """A Norwegian eMSP buying a Latvian session: with reverse charge agreed the line is
    OUT_OF_SCOPE of EU VAT (rate 0, the customer accounts for NO VAT); with charging-country
    VAT it is LV 21 %. Any session charged in Norway carries Norwegian VAT 25 %."""
    out = determine(supplier=LV_CPO, customer=NO_EMSP, country_of_supply="LV", on=DAY)
    assert (out.rule, out.rate, out.vat_country) == ("OUT_OF_SCOPE", D(0), "NO")
    cc = determine(supplier=LV_CPO, customer=NO_EMSP, country_of_supply="LV", on=DAY,
                   b2b_option="CHARGING_COUNTRY_VAT")
    assert (cc.rule, cc.rate) == ("DOMESTIC_VAT", D(21))
    in_no = determine(supplier=TaxParty("NO", "NO888888888MVA"), customer=EE_EMSP,
                      country_of_supply="NO", on=DAY)
    assert (in_no.rule, in_no.rate, in_no.vat_country) == ("DOMESTIC_VAT", D(25), "NO")


@pytest.mark.parametrize(("country", "day", "rate", "since"), [
    ("EE", date(2023, 12, 31), "20", date(2009, 7, 1)),
    ("EE", date(2024, 1, 1), "22", date(2024, 1, 1)),
    ("EE", date(2025, 6, 30), "22", date(2024, 1, 1)),
    ("EE", date(2025, 7, 1), "24", date(2025, 7, 1)),
    ("FI", date(2024, 8, 31), "24", date(2013, 1, 1)),
    ("FI", date(2024, 9, 1), "25.5", date(2024, 9, 1)),
    ("DE", date(2020, 6, 30), "19", date(2007, 1, 1)),
    ("DE", date(2020, 7, 1), "16", date(2020, 7, 1)),
    ("DE", date(2020, 12, 31), "16", date(2020, 7, 1)),
    ("DE", date(2021, 1, 1), "19", date(2021, 1, 1)),
    ("LV", date(2019, 1, 1), "21", date(2012, 7, 1)),
    ("LT", date(2019, 1, 1), "21", date(2009, 9, 1)),
    ("SE", date(2019, 1, 1), "25", date(1990, 7, 1)),
    ("NO", date(2026, 1, 1), "25", date(2005, 1, 1)),
    ("DK", date(2026, 1, 1), "25", date(1992, 1, 1)),
    ("PL", date(2026, 1, 1), "23", date(2011, 1, 1)),
])
def test_dated_rates(country: str, day: date, rate: str, since: date) -> None:
    assert vat_rate(country, day) == (D(rate), since)
    assert vat_table.vat_rate(country.lower(), day) == D(rate)  # the pricing engine's view


def test_the_rate_follows_the_supply_date_in_a_decision() -> None:
    """A German driver's session on 2020-12-31 carries 16 %; on 2021-01-01, 19 %:
    100.00 net -> 16.00 / 19.00."""
    driver = TaxParty("DE", business=False)
    before = determine(supplier=TaxParty("DE", "DE123456789"), customer=driver,
                       country_of_supply="DE", on=date(2020, 12, 31))
    after = determine(supplier=TaxParty("DE", "DE123456789"), customer=driver,
                      country_of_supply="DE", on=date(2021, 1, 1))
    assert vat_amount(D("100.00"), before, "EUR") == D("16.00")
    assert vat_amount(D("100.00"), after, "EUR") == D("19.00")


def test_vat_amount_rounds_half_up_to_the_minor_unit() -> None:
    """0.50 x 21 % = 0.105 -> 0.11 (banker's rounding would give 0.10);
    10.10 x 25.5 % = 2.5755 -> 2.58; in SEK 0.10 x 25 % = 0.025 -> 0.03."""
    lv = determine(supplier=LV_CPO, customer=TaxParty("LV", business=False),
                   country_of_supply="LV", on=DAY)
    fi = determine(supplier=TaxParty("FI", "FI12345678"), customer=TaxParty("FI", business=False),
                   country_of_supply="FI", on=DAY)
    se = determine(supplier=TaxParty("SE", "SE556000000001"),
                   customer=TaxParty("SE", business=False), country_of_supply="SE", on=DAY)
    assert vat_amount(D("0.50"), lv, "EUR") == D("0.11")
    assert vat_amount(D("10.10"), fi, "EUR") == D("2.58")
    assert vat_amount(D("0.10"), se, "SEK") == D("0.03")


def test_unknown_country_or_date_is_a_clear_domain_error() -> None:
    with pytest.raises(UnknownVatRate) as exc:
        vat_rate("XX", DAY)
    assert "'XX'" in exc.value.message and "2026-11-10" in exc.value.message
    assert isinstance(exc.value, DomainError) and isinstance(exc.value, InvalidInput)
    with pytest.raises(UnknownVatRate, match=r"EE on 2001-01-01.*starts on 2009-07-01"):
        vat_rate("EE", date(2001, 1, 1))
    with pytest.raises(UnknownVatRate, match="'US'"):
        determine(supplier=LV_CPO, customer=EE_EMSP, country_of_supply="US", on=DAY)
    with pytest.raises(InvalidInput, match="b2b_option"):
        determine(supplier=LV_CPO, customer=EE_EMSP, country_of_supply="LV", on=DAY,
                  b2b_option="HALF")  # type: ignore[arg-type]


def test_electricity_excise_as_dated_reference_data() -> None:
    """FI class I: 2.253 c/kWh, reduced to 0.063 c/kWh for 2023-01..04; SE in SEK; DE
    20.50 EUR/MWh; none recorded for NO and LT."""
    assert excise_per_kwh("FI", date(2022, 12, 31)) == (D("0.02253"), "EUR")
    assert excise_per_kwh("FI", date(2023, 2, 1)) == (D("0.00063"), "EUR")
    assert excise_per_kwh("FI", date(2023, 5, 1)) == (D("0.02253"), "EUR")
    assert excise_per_kwh("SE", date(2024, 6, 1)) == (D("0.428"), "SEK")
    assert excise_per_kwh("DE", DAY) == (D("0.0205"), "EUR")
    assert excise_per_kwh("PL", DAY) == (D("0.005"), "PLN")
    assert excise_per_kwh("NO", DAY) is None and excise_per_kwh("LT", DAY) is None
    assert excise_per_kwh("LV", date(2018, 12, 31)) is None  # before the table starts


def test_vat_contained_in_a_gross_amount() -> None:
    """14.00 EUR paid in Finland (25.5 %): 14.00 / 1.255 = 11.1554 net, VAT 2.8446 -> 2.84.
    12.10 EUR in Latvia (21 %): exactly 10.00 net, 2.10 VAT."""
    fi = determine(supplier=TaxParty("FI"), customer=TaxParty("FI", business=False),
                   country_of_supply="FI", on=DAY)
    lv = determine(supplier=LV_CPO, customer=TaxParty("EE", business=False),
                   country_of_supply="LV", on=DAY)
    assert vat_in_gross(D("14.00"), fi, "EUR") == D("2.84")
    assert vat_in_gross(D("12.10"), lv, "EUR") == D("2.10")
