"""Totals, VAT and min/max price (PROTOCOL_NOTES; mod_tariffs Tariff object notes).

Rounding happens only here, once per total, by the agreement's RoundingPolicy (half-up to the
currency's minor unit by default):
- each cost field (fixed, energy, time, parking, reservation): excl = round(sum of its lines),
  incl = round(sum of its lines x (1 + VAT));
- total excl = round(sum of all lines); VAT = round(sum over VAT rates of round(net at that
  rate) x rate), the invoice rule; incl = excl + VAT;
- min_price/max_price clamp excl. and incl. VAT independently. The clamp is a line of its own
  (kind "clamp"). incl. VAT is clamped by the bound's own incl_vat; only when the bound that
  clamped excl. has no incl_vat does incl. follow excl. in proportion. Cost fields per
  dimension stay as the lines priced them (OCPI has no field for the adjustment): their sum
  can differ from total_cost by the clamp, which the explanation states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from clearing.money import RoundingPolicy, quantum
from clearing.tariffs.lines import CATEGORIES, CLAMP, FIXED, Line
from clearing.tariffs.model import ZERO, Usage

if TYPE_CHECKING:
    from clearing.tariffs.engine import CompiledTariff


@dataclass(frozen=True, slots=True)
class Money:
    excl_vat: Decimal
    incl_vat: Decimal


@dataclass(frozen=True, slots=True)
class PricedSession:
    tariff_id: str
    currency: str
    time_zone: str
    usage: Usage
    lines: tuple[Line, ...]
    costs: dict[str, Money]  # per category (lines.CATEGORIES), rounded
    total: Money  # rounded, after min/max
    vat_amount: Decimal
    vat_rates: tuple[Decimal, ...]  # distinct rates of the priced lines
    warnings: tuple[str, ...]

    @property
    def lines_excl(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)


def finish(ct: CompiledTariff, usage: Usage, lines: list[Line], warnings: list[str],
           policy: RoundingPolicy) -> PricedSession:
    currency = ct.tariff.currency
    q, mode = quantum(currency), policy.rounding

    def rnd(value: Decimal) -> Decimal:
        return value.quantize(q, rounding=mode)

    per: dict[str, dict[Decimal, Decimal]] = {}
    by_rate: dict[Decimal, Decimal] = {}
    for ln in lines:
        amount = ln.volume * ln.unit_price
        rate = ln.vat or ZERO
        nets = per.get(ln.category)
        if nets is None:
            per[ln.category] = {rate: amount}
        else:
            nets[rate] = nets.get(rate, ZERO) + amount
        by_rate[rate] = by_rate.get(rate, ZERO) + amount
    zero = rnd(ZERO)
    costs = {c: _money(per[c], rnd) if c in per else Money(zero, zero) for c in CATEGORIES}
    excl_exact = sum(by_rate.values(), ZERO)
    clamp = None
    if ct.tariff.min_price is not None or ct.tariff.max_price is not None:
        clamp = _clamp(ct, excl_exact, by_rate, rnd)
    if clamp is None:
        total = _money(by_rate, rnd)
        excl, incl, vat = total.excl_vat, total.incl_vat, total.incl_vat - total.excl_vat
    else:
        excl, incl, line = clamp
        lines.append(line)
        vat = incl - excl
    return PricedSession(ct.tariff.id, currency, ct.time_zone, usage, tuple(lines), costs,
                         Money(excl, incl), vat, tuple(sorted(by_rate)), tuple(warnings))


def _money(by_rate: dict[Decimal, Decimal], rnd: Callable[[Decimal], Decimal]) -> Money:
    """excl = round(sum); VAT = round(sum per rate of round(net) x rate); incl = excl + VAT."""
    excl = rnd(sum(by_rate.values(), ZERO))
    vat = rnd(sum((rnd(net) * rate / 100 for rate, net in by_rate.items() if rate), ZERO))
    return Money(excl, excl + vat)


def _clamp(ct: CompiledTariff, excl_exact: Decimal, by_rate: dict[Decimal, Decimal],
           round_: Callable[[Decimal], Decimal]) -> tuple[Decimal, Decimal, Line] | None:
    """min/max price; None when neither bound bites."""
    low, high = ct.tariff.min_price, ct.tariff.max_price
    vat_exact = sum((net * rate / 100 for rate, net in by_rate.items()), ZERO)
    incl_exact = excl_exact + vat_exact
    target, bound_incl, name = excl_exact, None, ""
    if low is not None and excl_exact < low.excl_vat:
        target, bound_incl, name = low.excl_vat, low.incl_vat, "min_price"
    elif high is not None and excl_exact > high.excl_vat:
        target, bound_incl, name = high.excl_vat, high.incl_vat, "max_price"
    # Independent clamps (PROTOCOL_NOTES): incl. VAT follows excl. in proportion only when the
    # bound that bit names no incl_vat of its own; otherwise incl. is clamped by itself below.
    incl_target = incl_exact
    if name and bound_incl is None:
        incl_target = incl_exact * target / excl_exact if excl_exact > 0 else target
    if low is not None and low.incl_vat is not None and incl_target < low.incl_vat:
        incl_target, name = low.incl_vat, name or "min_price"
    if high is not None and high.incl_vat is not None and incl_target > high.incl_vat:
        incl_target, name = high.incl_vat, name or "max_price"
    if not name:
        return None
    excl = round_(target)
    incl = round_(incl_target)
    adjustment = target - excl_exact
    note = (f"{name}: lines total {excl_exact.normalize():f} excl. VAT / "
            f"{incl_exact.normalize():f} incl. VAT, billed {excl:f} excl. / {incl:f} incl.")
    return excl, incl, Line(FIXED, name.upper(), None, None, Decimal(1), "session",
                            adjustment, None, CLAMP, note)
