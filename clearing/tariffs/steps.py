"""step_size (mod_tariffs PriceComponent; mod_cdrs "step_size"), as PROTOCOL_NOTES chooses:

- once per session on the total billable volume: ENERGY on its own; TIME and PARKING_TIME
  together: when billable parking exists, only the parking total is rounded (charging time
  followed by parking is not), otherwise the charging-time total is; reservation time on its
  own;
- the step is the one of the last component that priced that dimension, and the extra volume
  is billed at that component (a separate "step" line, so the explanation shows it);
- billable = priced by some component; parking after a free-of-charge switch is not rounded;
- ``step_size`` 0 means no rounding (tariff_5 uses 0); 1 rounds up to a whole Wh or second.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

from clearing.tariffs.lines import (
    ENERGY_COST,
    PARKING_COST,
    RESERVATION_COST,
    STEP,
    TIME_COST,
    Line,
)
from clearing.tariffs.model import ZERO

if TYPE_CHECKING:
    from clearing.tariffs.engine import Accumulator, CompiledTariff

_UNIT = {ENERGY_COST: Decimal(1000)}  # kWh -> Wh; hours -> seconds otherwise
_SECONDS = Decimal(3600)


def apply_steps(ct: CompiledTariff, acc: Accumulator) -> list[Line]:
    totals: dict[str, Decimal] = {}
    for line in acc.lines.values():
        if line.dimension != "FLAT":
            totals[line.category] = totals.get(line.category, ZERO) + line.volume
    groups = [ENERGY_COST, RESERVATION_COST]
    groups.append(PARKING_COST if totals.get(PARKING_COST, ZERO) > 0 else TIME_COST)
    out = []
    for category in groups:
        extra = _step(ct, acc, category, totals.get(category, ZERO))
        if extra is not None:
            out.append(extra)
    return out


def _step(ct: CompiledTariff, acc: Accumulator, category: str, total: Decimal) -> Line | None:
    key = acc.last.get(category)
    if key is None or total <= 0:
        return None
    last = acc.lines[key]
    _cat, e, c = key
    step = ct.tariff.elements[e].components[c].step_size
    if step <= 0:
        return None
    scale = _UNIT.get(category, _SECONDS)
    units = total * scale
    blocks = (units / step).to_integral_value(rounding=ROUND_CEILING)
    billed_units = blocks * step
    if billed_units <= units:
        return None
    extra = billed_units / scale - total
    unit_name = "Wh" if category == ENERGY_COST else "s"
    note = (f"step_size {step} {unit_name}: {_fmt(units)} {unit_name} billed as "
            f"{_fmt(billed_units)} {unit_name} (+{_fmt(billed_units - units)} {unit_name})")
    return Line(category, last.dimension, e, c, extra, last.unit, last.unit_price, last.vat,
                STEP, note)


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
