"""The OCPI 2.2.1 tariff engine: price a ``Usage`` under a compiled tariff. Pure, Decimal.

Per period and per dimension, the first element (in tariff order) that has a component of that
dimension and whose restrictions match at the period's start prices the period's volume
(mod_tariffs "Tariff Object"; PROTOCOL_NOTES). FLAT is billed once for the charging session and
once for a reservation (tariff_16 bills both fees). Volumes priced by the same component are
summed into one line, so splitting a period where nothing changes changes nothing.
step_size: clearing.tariffs.steps; VAT, min/max and totals: clearing.tariffs.totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clearing.money import DEFAULT_POLICY, RoundingPolicy
from clearing.tariffs.lines import (
    ENERGY_COST,
    FIXED,
    PARKING_COST,
    RESERVATION_COST,
    TIME_COST,
    UNITS,
    UNPRICED,
    Line,
)
from clearing.tariffs.model import (
    ENERGY,
    FLAT,
    PARKING_TIME,
    RESERVATION_EXPIRES,
    TIME,
    ZERO,
    Component,
    OcpiTariff,
    Restrictions,
    TariffError,
    Usage,
)
from clearing.tariffs.restrictions import CHARGING, EXPIRED, RESERVED, Moment, matches
from clearing.tariffs.steps import apply_steps
from clearing.tariffs.totals import PricedSession, finish

Candidate = tuple[Restrictions | None, Component, int, int]  # restrictions, comp, elem, index


@dataclass(frozen=True, slots=True)
class CompiledTariff:
    """A tariff prepared once: candidates per dimension in element order, its time zone."""

    tariff: OcpiTariff
    time_zone: str
    zone: ZoneInfo
    charging: dict[str, tuple[Candidate, ...]]
    reserved: dict[str, tuple[Candidate, ...]]
    expired: dict[str, tuple[Candidate, ...]]
    restrictions: tuple[Restrictions, ...]
    needs_local_time: bool
    unrestricted: bool


def zone_for(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TariffError("time_zone", f"unknown IANA time zone {time_zone!r}") from None


def compile_tariff(tariff: OcpiTariff, time_zone: str) -> CompiledTariff:
    charging: dict[str, list[Candidate]] = {}
    reserved: dict[str, list[Candidate]] = {}
    expires: dict[str, list[Candidate]] = {}
    for e, element in enumerate(tariff.elements):
        r = element.restrictions
        seen: set[str] = set()
        for c, comp in enumerate(element.components):
            if comp.type in seen:
                continue  # one component per dimension per element: the first one
            seen.add(comp.type)
            candidate = (None if r.is_empty else r, comp, e, c)
            if r.reservation is None:
                charging.setdefault(comp.type, []).append(candidate)
            elif r.reservation == RESERVATION_EXPIRES:
                expires.setdefault(comp.type, []).append(candidate)
            else:
                reserved.setdefault(comp.type, []).append(candidate)
    expired = {k: expires.get(k, []) + reserved.get(k, []) for k in {*expires, *reserved}}
    rs = tuple(el.restrictions for el in tariff.elements if not el.restrictions.is_empty)
    return CompiledTariff(
        tariff=tariff, time_zone=time_zone, zone=zone_for(time_zone),
        charging={k: tuple(v) for k, v in charging.items()},
        reserved={k: tuple(v) for k, v in reserved.items()},
        expired={k: tuple(v) for k, v in expired.items()},
        restrictions=rs,
        needs_local_time=any(r.start_time is not None or r.end_time is not None
                             or r.day_of_week or r.start_date or r.end_date for r in rs),
        unrestricted=not rs,
    )


@dataclass(slots=True)
class Accumulator:
    lines: dict[tuple[str, int, int], Line] = field(default_factory=dict)
    last: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    unpriced: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def active(candidates: tuple[Candidate, ...], m: Moment | None,
           missing: list[str]) -> Candidate | None:
    for candidate in candidates:
        if candidate[0] is None or (m is not None and matches(candidate[0], m, missing)):
            return candidate
    return None


def _add(acc: Accumulator, category: str, candidate: Candidate, volume: Decimal,
         default_vat: Decimal | None) -> None:
    _r, comp, e, c = candidate
    key = (category, e, c)
    line = acc.lines.get(key)
    if line is None:
        vat = comp.vat if comp.vat is not None else default_vat
        acc.lines[key] = Line(category, comp.type, e, c, volume, UNITS[comp.type], comp.price,
                              vat)
    else:
        line.volume += volume
    if volume > 0 or category == FIXED:
        acc.last[category] = key


def _moment(ct: CompiledTariff, start: datetime, phase: str, kwh: Decimal,
            charging_start: datetime, period: object) -> Moment:
    if ct.needs_local_time:
        local = start.astimezone(ct.zone)
        minute, day, weekday = local.hour * 60 + local.minute, local.date(), local.weekday()
    else:
        minute, day, weekday = 0, start.date(), 0
    seconds = Decimal((start - charging_start).total_seconds())
    return Moment(phase, minute, day, weekday, kwh, seconds, period)  # type: ignore[arg-type]


def accumulate(ct: CompiledTariff, usage: Usage, default_vat: Decimal | None) -> Accumulator:
    """Assign every period's volumes to the active component of each dimension."""
    acc = Accumulator()
    charging_periods = [p for p in usage.periods if p.reservation == ZERO]
    expired = not charging_periods and any(p.reservation > 0 for p in usage.periods)
    charging_start = charging_periods[0].start if charging_periods else usage.start
    kwh = ZERO
    flat_billed: set[str] = set()
    for period in usage.periods:
        phase = CHARGING if period.reservation == ZERO else (EXPIRED if expired else RESERVED)
        table = ct.charging if phase == CHARGING else (ct.expired if expired else ct.reserved)
        m = None if ct.unrestricted else _moment(ct, period.start, phase, kwh, charging_start,
                                                 period)
        if phase not in flat_billed:
            flat_billed.add(phase)
            _price(acc, table, FLAT, Decimal(1), m, default_vat,
                   RESERVATION_COST if phase != CHARGING else FIXED)
        if phase == CHARGING:
            _price(acc, table, ENERGY, period.energy, m, default_vat, ENERGY_COST)
            _price(acc, table, TIME, period.time, m, default_vat, TIME_COST)
            _price(acc, table, PARKING_TIME, period.parking, m, default_vat, PARKING_COST)
        else:
            _price(acc, table, TIME, period.reservation, m, default_vat, RESERVATION_COST)
        kwh += period.energy
    return acc


def _price(acc: Accumulator, table: dict[str, tuple[Candidate, ...]], dimension: str,
           volume: Decimal, m: Moment | None, default_vat: Decimal | None,
           category: str) -> None:
    if volume == ZERO and dimension != FLAT:
        return
    candidates = table.get(dimension)
    if not candidates:
        return
    candidate = active(candidates, m, acc.missing)
    if candidate is None:
        key = (category, dimension)
        acc.unpriced[key] = acc.unpriced.get(key, ZERO) + volume
        return
    _add(acc, category, candidate, volume, default_vat)


def price(ct: CompiledTariff, usage: Usage, *, default_vat: Decimal | None = None,
          policy: RoundingPolicy = DEFAULT_POLICY) -> PricedSession:
    """Price ``usage``; ``default_vat`` applies to components without their own ``vat``
    (None: the OCPI reading, no VAT applicable)."""
    acc = accumulate(ct, usage, default_vat)
    lines = list(acc.lines.values())
    lines.extend(apply_steps(ct, acc))
    for (category, dimension), volume in acc.unpriced.items():
        lines.append(Line(category, dimension, None, None, volume, UNITS[dimension], ZERO,
                          None, UNPRICED, "no element with a matching restriction"))
    warnings = list(usage.warnings)
    if not ct.tariff.valid_at(usage.start):
        warnings.append(f"tariff {ct.tariff.id} is not valid at the session start "
                        f"{usage.start.isoformat()} (start_date_time/end_date_time)")
    for kind in dict.fromkeys(acc.missing):
        warnings.append(f"a {kind} restriction could not be evaluated: the periods carry no "
                        f"{kind} data, so those elements did not apply")
    return finish(ct, usage, lines, warnings, policy)

