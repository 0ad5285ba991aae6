"""Tax determination per line (issue 6 item 2), separate from the CDR price. Pure: no database.

For one supply (a charging session, or a CPO's invoice line to an eMSP) ``determine`` names the
supplier, customer, country of supply, the rule (``TaxRule``), the rate, the date that rate took
effect and whose VAT it is, with a human reason. The rates come from ``clearing.vat`` (the one
dated table). EV charging is treated as a supply of electricity (goods) taxed where the car
charges (PROTOCOL_NOTES "VAT and money facts"; VAT Directive 2006/112/EC art. 38/39).

Rules, in order (docs/clearing-reference.md explains them to finance):

1. Charging in Norway (not EU): Norwegian VAT (25 %), whoever the customer is.
2. Customer is a consumer (a driver), or a business without a VAT id: the charging country's
   VAT (DOMESTIC_VAT). Without a VAT id the customer cannot self-assess, so reverse charge is
   not possible (Implementing Regulation 282/2011 art. 18).
3. Supplier and customer in the same country = country of supply: domestic VAT.
4. B2B cross-border, per roaming agreement ``b2b_option``:
   - ``CHARGING_COUNTRY_VAT``: the charging country's VAT (DOMESTIC_VAT of that country).
   - ``REVERSE_CHARGE`` (default): rate 0, the customer self-assesses in its country
     (art. 44/196); if the customer is outside the EU (NO) the line is OUT_OF_SCOPE of EU VAT
     (export of a service; the customer accounts for its own country's VAT, if any).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from clearing.finance.documents import TaxRule
from clearing.money import quantum
from clearing.vat import EU_COUNTRIES, UnknownVatRate, vat_rate_since
from hub.domain import InvalidInput

__all__ = ["B2bVatOption", "ExciseRate", "TaxDecision", "TaxParty", "UnknownVatRate",
           "determine", "excise_per_kwh", "excise_rate", "vat_amount", "vat_in_gross",
           "vat_rate"]

B2bVatOption = Literal["REVERSE_CHARGE", "CHARGING_COUNTRY_VAT"]
B2B_OPTIONS: tuple[B2bVatOption, ...] = ("REVERSE_CHARGE", "CHARGING_COUNTRY_VAT")
ZERO = Decimal(0)


@dataclass(frozen=True)
class TaxParty:
    country: str  # ISO alpha-2
    vat_id: str | None = None
    business: bool = True  # False: a consumer (driver)


@dataclass(frozen=True)
class TaxDecision:
    supplier_country: str
    customer_country: str
    country_of_supply: str  # where the charging happened
    rule: TaxRule
    rate: Decimal  # percent; 0 for REVERSE_CHARGE / EXEMPT / OUT_OF_SCOPE
    rate_effective_from: date
    vat_country: str  # whose VAT applies (for the VAT summary)
    reason: str


def vat_rate(country: str, on: date) -> tuple[Decimal, date]:
    """(percent, effective_from) of ``country``'s standard rate on ``on``; UnknownVatRate."""
    return vat_rate_since(country, on)


def _charging_country_vat(supplier: TaxParty, customer: TaxParty, where: str, on: date,
                          reason: str) -> TaxDecision:
    rate, since = vat_rate_since(where, on)
    return TaxDecision(supplier.country.upper(), customer.country.upper(), where,
                       "DOMESTIC_VAT", rate, since, where,
                       f"{reason}: {where} VAT {rate}% (in force since {since.isoformat()})")


def determine(*, supplier: TaxParty, customer: TaxParty, country_of_supply: str, on: date,
              b2b_option: B2bVatOption = "REVERSE_CHARGE") -> TaxDecision:
    """The VAT treatment of one supply on ``on`` (rules in the module docstring)."""
    if b2b_option not in B2B_OPTIONS:
        raise InvalidInput(f"b2b_option: must be one of {', '.join(B2B_OPTIONS)}")
    where = country_of_supply.upper()
    sup, cus = supplier.country.upper(), customer.country.upper()
    vat_rate_since(where, on)  # fail early and clearly on an unknown country or date
    if where not in EU_COUNTRIES:
        return _charging_country_vat(supplier, customer, where, on,
                                     f"charging in {where} (outside the EU)")
    if not customer.business:
        return _charging_country_vat(supplier, customer, where, on,
                                     "driver (consumer): charging country's VAT")
    if not customer.vat_id:
        return _charging_country_vat(
            supplier, customer, where, on,
            "business customer without a VAT id: no reverse charge, charging country's VAT")
    if sup == cus == where:
        return _charging_country_vat(supplier, customer, where, on, "B2B domestic")
    if b2b_option == "CHARGING_COUNTRY_VAT":
        return _charging_country_vat(supplier, customer, where, on,
                                     "B2B cross-border, agreement option CHARGING_COUNTRY_VAT")
    if cus not in EU_COUNTRIES:
        return TaxDecision(
            sup, cus, where, "OUT_OF_SCOPE", ZERO, on, cus,
            f"B2B customer outside the EU ({cus}): outside the scope of EU VAT (export of a "
            f"service, VAT Directive art. 44); the customer accounts for {cus} VAT, if any")
    return TaxDecision(
        sup, cus, where, "REVERSE_CHARGE", ZERO, on, cus,
        f"EU B2B cross-border: reverse charge, VAT to be accounted for by the customer in "
        f"{cus} (VAT Directive art. 44/196)")


def vat_amount(net: Decimal, decision: TaxDecision, currency: str) -> Decimal:
    """The VAT of ``net`` under ``decision``, half-up to the currency's minor unit."""
    return (net * decision.rate / 100).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def vat_in_gross(gross: Decimal, decision: TaxDecision, currency: str) -> Decimal:
    """The VAT contained in a gross amount: gross - gross / (1 + rate), half-up to the minor
    unit (14.00 EUR at 25.5 %: 14.00 - 11.1554 = 2.8446 -> 2.84)."""
    net = gross * 100 / (100 + decision.rate)
    return (gross - net).quantize(quantum(currency), rounding=ROUND_HALF_UP)


# -- electricity excise --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExciseRate:
    since: date
    amount: Decimal  # per kWh, excl. VAT, in ``currency``
    currency: str
    uncertain: bool  # True: not confirmed against the official source yet
    source: str


# Electricity excise (energy tax) per kWh for a general (non-household, non-industrial) user,
# as dated reference data. It is levied upstream (the grid or electricity supplier charges it
# to the CPO), so for clearing it is a part of the energy cost, shown per session for
# transparency. REFERENCE DATA: finance checks each value before relying on it; rows marked
# ``uncertain`` were not confirmed against the official source when written. Not in the table
# (None): LT (households exempt, business 0.52 EUR/MWh, not charged on EV charging here),
# NO (elavgift has winter/summer rates; add when a Norwegian station is cleared).
_X = ExciseRate
EXCISE: dict[str, tuple[ExciseRate, ...]] = {
    # Elektroenerģijas nodokļa likums: 1.01 EUR/MWh.
    "LV": (_X(date(2019, 1, 1), Decimal("0.00101"), "EUR", True, "LV Electricity Tax Law"),),
    # Alkoholi-, tubaka-, kütuse- ja elektriaktsiisi seadus: 4.47 EUR/MWh, reduced to
    # 1.00 EUR/MWh from 2020-05-01 "for two years" (ERR 2020-05-01); whether the reduction
    # was extended after 2022-04-30 is not confirmed.
    "EE": (_X(date(2019, 1, 1), Decimal("0.00447"), "EUR", False, "EE excise act § 66"),
           _X(date(2020, 5, 1), Decimal("0.00100"), "EUR", True, "EE excise act, reduced")),
    # Sähkövero luokka I 2.24 c/kWh + huoltovarmuusmaksu 0.013 c/kWh; reduced to the EU
    # minimum (0.05 + 0.013 c/kWh) from 2023-01-01 to 2023-04-30.
    "FI": (_X(date(2019, 1, 1), Decimal("0.02253"), "EUR", False, "vero.fi class I"),
           _X(date(2023, 1, 1), Decimal("0.00063"), "EUR", False, "vero.fi class I, reduced"),
           _X(date(2023, 5, 1), Decimal("0.02253"), "EUR", False, "vero.fi class I")),
    # Energiskatt på el, general rate (not the reduced rate of northern municipalities), SEK.
    "SE": (_X(date(2019, 1, 1), Decimal("0.347"), "SEK", False, "Skatteverket"),
           _X(date(2020, 1, 1), Decimal("0.353"), "SEK", False, "Skatteverket"),
           _X(date(2021, 1, 1), Decimal("0.356"), "SEK", False, "Skatteverket"),
           _X(date(2022, 1, 1), Decimal("0.360"), "SEK", False, "Skatteverket"),
           _X(date(2023, 1, 1), Decimal("0.392"), "SEK", False, "Skatteverket"),
           _X(date(2024, 1, 1), Decimal("0.428"), "SEK", False, "Skatteverket"),
           _X(date(2025, 1, 1), Decimal("0.439"), "SEK", False, "Skatteverket"),
           # Budget 2026: -9.88 öre/kWh incl. VAT (54.88 -> 45.0 incl. VAT, 43.9 -> 36.0 excl.)
           _X(date(2026, 1, 1), Decimal("0.360"), "SEK", False, "Budget bill 2026")),
    # Elafgift, general rate, DKK (EV charging operators may reclaim down to a reduced rate;
    # not modelled). 2023 H1 and 2026-2027 at the EU minimum (0.8 øre); lov om afgift af
    # elektricitet § 6 as amended by L 24 (2025/26): 0.8 øre 2026-01-01..2027-12-31, then
    # 60.9 øre at 2015 level, indexed (add the 2028 row when the indexed rate is published).
    "DK": (_X(date(2023, 1, 1), Decimal("0.008"), "DKK", True, "Skattestyrelsen"),
           _X(date(2023, 7, 1), Decimal("0.697"), "DKK", True, "Skattestyrelsen"),
           _X(date(2024, 1, 1), Decimal("0.761"), "DKK", True, "Skattestyrelsen"),
           _X(date(2025, 1, 1), Decimal("0.727"), "DKK", True, "Skattestyrelsen"),
           _X(date(2026, 1, 1), Decimal("0.008"), "DKK", False, "elafgiftsloven § 6, L 24")),
    # Stromsteuergesetz § 3: 20.50 EUR/MWh since 2003.
    "DE": (_X(date(2003, 1, 1), Decimal("0.0205"), "EUR", False, "StromStG § 3"),),
    # Ustawa o podatku akcyzowym: 5 PLN/MWh since 2019-01-01 (was 20 PLN/MWh).
    "PL": (_X(date(2019, 1, 1), Decimal("0.005"), "PLN", False, "PL excise act art. 89"),),
}


def excise_rate(country: str, on: date) -> ExciseRate | None:
    """The excise row in force in ``country`` on ``on`` (None: none known)."""
    found: ExciseRate | None = None
    for row in EXCISE.get(country.upper(), ()):
        if row.since <= on:
            found = row
    return found


def excise_per_kwh(country: str, on: date) -> tuple[Decimal, str] | None:
    """(amount per kWh excl. VAT, currency) of the electricity excise, or None."""
    row = excise_rate(country, on)
    return None if row is None else (row.amount, row.currency)
