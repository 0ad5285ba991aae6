"""Explanation lines: which element/component priced which volume, and every adjustment."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clearing.tariffs.model import ENERGY, FLAT, PARKING_TIME, TIME

# Line categories = the OCPI CDR cost fields they feed (mod_cdrs CDR object): FLAT goes to
# total_fixed_cost except the reservation's own fees, which go to total_reservation_cost.
FIXED, ENERGY_COST, TIME_COST, PARKING_COST, RESERVATION_COST = (
    "fixed", "energy", "time", "parking", "reservation")
CATEGORIES = (FIXED, ENERGY_COST, TIME_COST, PARKING_COST, RESERVATION_COST)
UNITS = {FLAT: "session", ENERGY: "kWh", TIME: "h", PARKING_TIME: "h"}
USAGE, STEP, CLAMP, UNPRICED = "usage", "step", "clamp", "unpriced"


@dataclass(slots=True)
class Line:
    category: str
    dimension: str
    element: int | None  # index in tariff.elements; None: nothing priced it
    component: int | None  # index in that element's price_components
    volume: Decimal
    unit: str
    unit_price: Decimal
    vat: Decimal | None  # percent; None: no VAT applicable
    kind: str = USAGE
    note: str = ""

    @property
    def amount(self) -> Decimal:
        """Exact: volume x unit price, never rounded (rounding happens at totals only)."""
        return self.volume * self.unit_price

    @property
    def amount_incl(self) -> Decimal:
        return self.amount * (1 + (self.vat or Decimal(0)) / 100)
