"""Human-readable and JSON explanations of a priced session: which element and component
priced which volume, what step rounding added and which min/max clamp bit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from clearing.tariffs.lines import CATEGORIES, CLAMP, STEP, UNPRICED, Line
from clearing.tariffs.totals import PricedSession

_KIND_LABEL = {STEP: "step rounding", CLAMP: "price limit", UNPRICED: "not priced"}


def fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral_value() \
        else format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def short(value: Decimal) -> str:
    """For reading: at most 6 decimals (the JSON explanation keeps every digit)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        return fmt(value.quantize(Decimal("0.000001")))
    return fmt(value)


def volume_text(line: Line) -> str:
    if line.unit == "h":
        minutes = line.volume * 60
        return f"{short(line.volume)} h ({fmt(minutes.quantize(Decimal('0.01')))} min)"
    return f"{short(line.volume)} {line.unit}"


def where(line: Line) -> str:
    if line.element is None:
        return "-"
    return f"elements[{line.element}].price_components[{line.component}]"


def line_json(line: Line) -> dict[str, Any]:
    return {
        "category": line.category, "dimension": line.dimension, "kind": line.kind,
        "element": line.element, "component": line.component, "volume": line.volume,
        "unit": line.unit, "unit_price": line.unit_price, "amount_excl_vat": line.amount,
        "vat": line.vat, "amount_incl_vat": line.amount_incl, "note": line.note,
    }


def explanation_json(priced: PricedSession) -> dict[str, Any]:
    return {
        "tariff_id": priced.tariff_id, "currency": priced.currency,
        "time_zone": priced.time_zone,
        "lines": [line_json(ln) for ln in priced.lines],
        "costs": {c: {"excl_vat": m.excl_vat, "incl_vat": m.incl_vat}
                  for c, m in priced.costs.items()},
        "total_cost": {"excl_vat": priced.total.excl_vat, "incl_vat": priced.total.incl_vat},
        "vat_amount": priced.vat_amount, "warnings": list(priced.warnings),
    }


def explanation_text(priced: PricedSession) -> str:
    cur = priced.currency
    out = [f"Tariff {priced.tariff_id} ({cur}), local time {priced.time_zone}",
           f"{len(priced.usage.periods)} charging period(s) "
           f"{priced.usage.start.isoformat()} .. {priced.usage.end.isoformat()}", ""]
    for n, ln in enumerate(priced.lines, 1):
        label = _KIND_LABEL.get(ln.kind, ln.dimension)
        vat = "no VAT" if ln.vat is None else f"VAT {fmt(ln.vat)}%"
        head = (f"{n:>2}. {label:<13} {volume_text(ln):<28} x {fmt(ln.unit_price)} {cur}"
                f"/{ln.unit} = {short(ln.amount)} {cur} excl. ({vat})")
        out.append(head)
        detail = ", ".join(x for x in (f"{ln.dimension} from {where(ln)}"
                                       if ln.kind != CLAMP else "", ln.note) if x)
        if detail:
            out.append(f"    {detail}")
    out.append("")
    for category in CATEGORIES:
        money = priced.costs[category]
        if money.excl_vat or money.incl_vat:
            out.append(f"{category + ' cost':<17} {money.excl_vat:>10} excl. "
                       f"{money.incl_vat:>10} incl. VAT")
    out.append(f"{'total cost':<17} {priced.total.excl_vat:>10} excl. "
               f"{priced.total.incl_vat:>10} incl. VAT (VAT {priced.vat_amount} {cur})")
    out.extend(f"WARNING: {w}" for w in priced.warnings)
    return "\n".join(out)
