"""Money rounding policy (PROTOCOL_NOTES, tariff semantics: exact Decimal, round at totals).

The rule: every intermediate amount (volume x unit price, a line, a sum of lines, VAT before
rounding) stays an exact ``Decimal``. Only totals are rounded, once, to the currency's minor
unit, half-up (0.125 EUR -> 0.13, where banker's rounding would give 0.12). The policy is an
object so that a roaming agreement can choose another mode later.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies we settle in. Anything else falls back to 2 decimals
# (the common case) rather than failing a session stop; add a row when a 0- or 3-decimal
# currency ever shows up.
MINOR_UNITS: dict[str, int] = {"EUR": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2}
DEFAULT_MINOR_UNIT = 2


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNIT)


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal("0.01") for EUR."""
    return Decimal(1).scaleb(-minor_unit(currency))


@dataclass(frozen=True, slots=True)
class RoundingPolicy:
    rounding: str = ROUND_HALF_UP

    def total(self, amount: Decimal, currency: str) -> Decimal:
        """Round a total to the currency's minor unit; the only place money is rounded."""
        return amount.quantize(quantum(currency), rounding=self.rounding)


DEFAULT_POLICY = RoundingPolicy()
