"""hub.domain values <-> the engine: a domain Tariff as an OcpiTariff, a PricedSession as the
kernel's CdrPrice (what hub.services.charging stores on our own CDRs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from clearing.tariffs.lines import CLAMP, ENERGY_COST, FIXED, TIME_COST, Line
from clearing.tariffs.model import OcpiTariff
from clearing.tariffs.parse import parse_tariff
from clearing.tariffs.totals import PricedSession
from hub.domain import CdrPrice, ChargingPeriod, PriceLine, Tariff


def tariff_json(tariff: Tariff) -> dict[str, Any]:
    """A domain Tariff in OCPI 2.2.1 shape (mod_tariffs Tariff object)."""
    return {
        "country_code": tariff.owner.country_code, "party_id": tariff.owner.party_id,
        "id": tariff.id, "currency": tariff.currency,
        "elements": [
            {"price_components": [
                {"type": c.type, "price": str(c.price), "step_size": c.step_size,
                 **({"vat": str(c.vat)} if c.vat is not None else {})}
                for c in e.price_components],
             **({"restrictions": e.restrictions} if e.restrictions else {})}
            for e in tariff.elements
        ],
        **({"type": tariff.type} if tariff.type else {}),
        **{name: {"excl_vat": str(limit.excl_vat),
                  **({"incl_vat": str(limit.incl_vat)} if limit.incl_vat is not None else {})}
           for name, limit in (("min_price", tariff.min_price), ("max_price", tariff.max_price))
           if limit is not None},
        **{name: moment.isoformat() for name, moment in (
            ("start_date_time", tariff.start_date_time), ("end_date_time", tariff.end_date_time))
           if moment is not None},
    }


def from_domain(tariff: Tariff) -> OcpiTariff:
    return parse_tariff(tariff_json(tariff))


def price_line(line: Line, default_vat: Decimal) -> PriceLine:
    where = ("" if line.element is None
             else f"elements[{line.element}].price_components[{line.component}]")
    note = "; ".join(x for x in (line.kind if line.kind != "usage" else "", where, line.note)
                     if x)
    return PriceLine(component=line.dimension, volume=line.volume, unit=line.unit,
                     unit_price=line.unit_price, amount_excl_vat=line.amount,
                     vat_rate=line.vat if line.vat is not None else
                     (default_vat if line.kind == CLAMP else Decimal(0)), note=note)


def to_cdr_price(priced: PricedSession, vat_country: str, country_rate: Decimal) -> CdrPrice:
    usage = priced.usage
    periods = tuple(
        ChargingPeriod(
            start_date_time=p.start,
            dimensions=tuple((kind, volume) for kind, volume in (
                ("ENERGY", p.energy), ("TIME", p.time), ("PARKING_TIME", p.parking),
                ("RESERVATION_TIME", p.reservation))
                if volume or kind in ("ENERGY", "TIME")),
            tariff_id=p.tariff_id)
        for p in usage.periods)
    rates = priced.vat_rates
    return CdrPrice(
        currency=priced.currency,
        total_energy=sum((p.energy for p in usage.periods), Decimal(0)),
        total_time=sum((p.time + p.parking + p.reservation for p in usage.periods), Decimal(0)),
        total_cost_excl_vat=priced.total.excl_vat, total_cost_incl_vat=priced.total.incl_vat,
        vat_rate=rates[0] if len(rates) == 1 else country_rate,
        vat_amount=priced.vat_amount, vat_country=vat_country,
        lines=tuple(price_line(ln, country_rate) for ln in priced.lines),
        periods=periods,
        total_energy_cost=priced.costs[ENERGY_COST].excl_vat,
        total_fixed_cost=priced.costs[FIXED].excl_vat,
        total_time_cost=priced.costs[TIME_COST].excl_vat,
    )
