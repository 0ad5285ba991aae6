"""Standard VAT rates as dated data (PROTOCOL_NOTES, "VAT and money facts").

Rates change (EE 22 -> 24 on 2025-07-01, FI 24 -> 25.5 on 2024-09-01), and a CDR is taxed at
the rate in force on its supply date, so every rate carries the date it took effect. A rate
change is one new row here, never an edited one: old CDRs must re-price to what they were.
Pure: no database, no clock.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hub.domain import InvalidInput

# country (ISO 3166-1 alpha-2) -> ((effective from, percent), ...), oldest first.
VAT_RATES: dict[str, tuple[tuple[date, Decimal], ...]] = {
    "LV": ((date.min, Decimal("21")),),
    "EE": ((date.min, Decimal("22")), (date(2025, 7, 1), Decimal("24"))),
    "LT": ((date.min, Decimal("21")),),
    "FI": ((date.min, Decimal("24")), (date(2024, 9, 1), Decimal("25.5"))),
    "SE": ((date.min, Decimal("25")),),
    "NO": ((date.min, Decimal("25")),),
    "DK": ((date.min, Decimal("25")),),
    "PL": ((date.min, Decimal("23")),),
    "DE": ((date.min, Decimal("19")),),
}


def vat_rate(country_code: str, on: date) -> Decimal:
    """The standard VAT rate (percent) of ``country_code`` in force on ``on``."""
    history = VAT_RATES.get(country_code.upper())
    if history is None:
        raise InvalidInput(
            f"no VAT rate known for country {country_code!r}; known: {', '.join(VAT_RATES)}"
        )
    rate = history[0][1]
    for since, percent in history:
        if since <= on:
            rate = percent
    return rate
