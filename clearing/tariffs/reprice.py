"""Re-pricing a partner's CDR: recompute it from the tariff the partner published and report
the difference against what the CDR claims, within a tolerance per roaming agreement."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearing.tariffs.cdr import ALL_COST_FIELDS, cost_fields
from clearing.tariffs.engine import compile_tariff, price
from clearing.tariffs.model import OcpiTariff
from clearing.tariffs.parse import decimal_at, parse_usage
from clearing.tariffs.totals import PricedSession


@dataclass(frozen=True, slots=True)
class Difference:
    field: str  # e.g. "total_cost.excl_vat"
    claimed: Decimal | None  # None: the CDR does not state it
    computed: Decimal

    @property
    def delta(self) -> Decimal | None:
        return None if self.claimed is None else self.claimed - self.computed


@dataclass(frozen=True, slots=True)
class RepriceResult:
    priced: PricedSession
    differences: tuple[Difference, ...]  # every stated field outside the tolerance
    tolerance: Decimal

    @property
    def within_tolerance(self) -> bool:
        return not self.differences


def reprice(cdr: dict[str, Any], tariff: OcpiTariff, time_zone: str,
            tolerance: Decimal = Decimal("0.01")) -> RepriceResult:
    """Compare every cost field the CDR states with our computation (absolute tolerance)."""
    priced = price(compile_tariff(tariff, time_zone), parse_usage(cdr))
    ours = cost_fields(priced)
    out = []
    for name in ALL_COST_FIELDS:
        stated = cdr.get(name)
        if not isinstance(stated, dict):
            continue
        for side in ("excl_vat", "incl_vat"):
            if stated.get(side) is None:
                continue
            claimed = decimal_at(stated[side], f"{name}.{side}", non_negative=False)
            computed = ours[name][side]
            if abs(claimed - computed) > tolerance:
                out.append(Difference(f"{name}.{side}", claimed, computed))
    return RepriceResult(priced, tuple(out), tolerance)
