"""Standard VAT rates as dated data (PROTOCOL_NOTES, "VAT and money facts"): the one table.

Rates change (EE 20 -> 22 on 2024-01-01 -> 24 on 2025-07-01, FI 24 -> 25.5 on 2024-09-01,
DE 19 -> 16 for 2020-07-01..2020-12-31), and a CDR is taxed at the rate in force on its supply
date, so every rate carries the date it took effect. A rate change is one new row here, never
an edited one: old CDRs must re-price to what they were. Pure: no database, no clock.

``clearing.tax`` (tax determination per line) reads this table too; ``vat_rate`` below is the
pricing engine's view of it (percent only).

Sources (checked 2026-11; reference data, finance confirms before a new period is closed):
- European Commission, "VAT rates applied in the Member States of the EU" (taxud, yearly
  editions 2019-2025) for LV, EE, LT, FI, SE, DK, PL, DE.
- LV: PVN likums, 21 % since 2012-07-01 (22 % 2011-01-01..2012-06-30).
- EE: Käibemaksuseadus, 20 % since 2009-07-01, 22 % from 2024-01-01, 24 % from 2025-07-01.
- LT: PVM įstatymas, 21 % since 2009-09-01.
- FI: Arvonlisäverolaki, 24 % since 2013-01-01, 25.5 % from 2024-09-01 (vero.fi).
- SE: Mervärdesskattelagen, 25 % since 1990-07-01.
- NO: Merverdiavgiftsloven (Skatteetaten), 25 % since 2005-01-01. Norway is not in the EU.
- DK: Momsloven, 25 % since 1992-01-01.
- PL: Ustawa o VAT, 23 % since 2011-01-01.
- DE: UStG § 12, 19 % since 2007-01-01; 16 % from 2020-07-01 to 2020-12-31 (Zweites
  Corona-Steuerhilfegesetz), 19 % again from 2021-01-01.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hub.domain import InvalidInput

D = Decimal
# country (ISO 3166-1 alpha-2) -> ((effective from, percent), ...), oldest first. The first
# row's date is when that rate took effect; earlier dates are unknown (UnknownVatRate).
VAT_RATES: dict[str, tuple[tuple[date, Decimal], ...]] = {
    "LV": ((date(2011, 1, 1), D("22")), (date(2012, 7, 1), D("21"))),
    "EE": ((date(2009, 7, 1), D("20")), (date(2024, 1, 1), D("22")),
           (date(2025, 7, 1), D("24"))),
    "LT": ((date(2009, 9, 1), D("21")),),
    "FI": ((date(2013, 1, 1), D("24")), (date(2024, 9, 1), D("25.5"))),
    "SE": ((date(1990, 7, 1), D("25")),),
    "NO": ((date(2005, 1, 1), D("25")),),
    "DK": ((date(1992, 1, 1), D("25")),),
    "PL": ((date(2011, 1, 1), D("23")),),
    "DE": ((date(2007, 1, 1), D("19")), (date(2020, 7, 1), D("16")),
           (date(2021, 1, 1), D("19"))),
}
# EU member states among the countries above (Norway is EEA, not EU: no EU VAT rules).
EU_COUNTRIES = frozenset({"LV", "EE", "LT", "FI", "SE", "DK", "PL", "DE"})


class UnknownVatRate(InvalidInput):
    """No standard VAT rate is known for a country on a date (an unknown country, or a date
    before the first row of its history). An ``InvalidInput``: the admin API answers 422."""


def vat_rate_since(country_code: str, on: date) -> tuple[Decimal, date]:
    """(percent, effective from) of the standard rate of ``country_code`` on ``on``."""
    country = country_code.upper()
    history = VAT_RATES.get(country)
    if history is None:
        raise UnknownVatRate(
            f"no VAT rate known for country {country_code!r} on {on.isoformat()}; "
            f"known: {', '.join(VAT_RATES)}")
    found: tuple[date, Decimal] | None = None
    for since, percent in history:
        if since <= on:
            found = (since, percent)
    if found is None:
        raise UnknownVatRate(
            f"no VAT rate known for {country} on {on.isoformat()}: the table starts on "
            f"{history[0][0].isoformat()}")
    return found[1], found[0]


def vat_rate(country_code: str, on: date) -> Decimal:
    """The standard VAT rate (percent) of ``country_code`` in force on ``on``."""
    return vat_rate_since(country_code, on)[0]
