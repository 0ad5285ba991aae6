"""Per-period price models (a month or a year of one user's or one charge point's charging):
subscriptions with included kWh, tiered annual kWh blocks split across a month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from clearing.models.base import (
    ZERO,
    ModelLine,
    ModelPrice,
    PriceModel,
    component,
    ocpi_tariff,
    priced,
)
from hub.domain import InvalidInput

PER_USER, PER_CHARGE_POINT = "USER", "CHARGE_POINT"


@dataclass(frozen=True, slots=True)
class Subscription(PriceModel):
    """A monthly fee per user or per charge point including ``included_kwh`` per unit; kWh
    beyond that at ``extra_kwh_price``. Sessions use up the allowance in order."""

    kind: ClassVar[str] = "subscription"
    currency: str
    monthly_fee: Decimal
    included_kwh: Decimal
    extra_kwh_price: Decimal
    per: str = PER_USER
    vat: Decimal | None = None  # percent; None: not stated (see priced)

    def check(self) -> None:
        if self.per not in (PER_USER, PER_CHARGE_POINT):
            raise InvalidInput(f"per: must be {PER_USER} or {PER_CHARGE_POINT}")

    def price_month(self, session_kwh: Sequence[Decimal], units: int = 1) -> ModelPrice:
        if units < 1:
            raise InvalidInput("units: at least one user or charge point")
        allowance = self.included_kwh * units
        used = sum(session_kwh, ZERO)
        included = min(used, allowance)
        return priced(self.currency, self.vat, [
            ModelLine(f"monthly fee per {self.per.lower().replace('_', ' ')}",
                      Decimal(units), "month", self.monthly_fee),
            ModelLine("included energy", included, "kWh", ZERO),
            ModelLine("energy beyond the allowance", used - included, "kWh",
                      self.extra_kwh_price)],
            f"allowance {allowance} kWh, used {used} kWh")

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        return ocpi_tariff(cc, party, tariff_id, self.currency, [
            {"price_components": [component("ENERGY", self.extra_kwh_price)]}],
            [f"Subscribers pay {self.monthly_fee} {self.currency} a month with "
             f"{self.included_kwh} kWh included; this is the price beyond it."])


@dataclass(frozen=True, slots=True)
class AnnualBlocks(PriceModel):
    """The first ``block_kwh`` of a year (starting on ``year_start``, "MM-DD") at
    ``block_price``, the rest at ``rest_price``; eligible groups get ``eligible_extra_kwh``
    more in the block. A month whose consumption crosses the block is split in two lines."""

    kind: ClassVar[str] = "annual_blocks"
    currency: str
    block_kwh: Decimal
    block_price: Decimal
    rest_price: Decimal
    year_start: str = "01-01"
    eligible_extra_kwh: Decimal = Decimal(0)
    vat: Decimal | None = None  # percent; None: not stated (see priced)

    def check(self) -> None:
        self.year_start_in(2000)

    def year_start_in(self, year: int) -> date:
        try:
            month, day = (int(x) for x in self.year_start.split("-"))
            return date(year, month, day)
        except ValueError:
            raise InvalidInput(f"year_start: must be MM-DD, got {self.year_start!r}") from None

    def year_of(self, day: date) -> date:
        """The start of the billing year ``day`` belongs to."""
        start = self.year_start_in(day.year)
        return start if day >= start else self.year_start_in(day.year - 1)

    def price_month(self, month_kwh: Decimal, kwh_before: Decimal, *,
                    eligible: bool = False) -> ModelPrice:
        """``kwh_before``: consumed earlier in the same billing year."""
        if month_kwh < 0 or kwh_before < 0:
            raise InvalidInput("month_kwh: energy must not be negative")
        block = self.block_kwh + (self.eligible_extra_kwh if eligible else ZERO)
        left = max(block - kwh_before, ZERO)
        inside = min(month_kwh, left)
        return priced(self.currency, self.vat, [
            ModelLine("energy within the annual block", inside, "kWh", self.block_price),
            ModelLine("energy beyond the annual block", month_kwh - inside, "kWh",
                      self.rest_price)],
            f"block {block} kWh, {kwh_before} kWh used before this month")

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        return ocpi_tariff(cc, party, tariff_id, self.currency, [
            {"price_components": [component("ENERGY", self.rest_price)]}],
            [f"Contract holders pay {self.block_price} {self.currency}/kWh for the first "
             f"{self.block_kwh} kWh of each year from {self.year_start}; roaming price "
             "shown."])
