"""Our own sessions as charging periods, split at every instant where the price can change.

A session is known by its start, end, energy and (optionally) the instant charging stopped
(the rest is parking). Energy is spread linearly over the charging time (constant power: the
only honest assumption without meter values). Periods are split at every restriction boundary
of the tariff (time of day, local midnight for day/date restrictions, min/max duration, the
instants the cumulative energy reaches min/max kWh) and where charging stops, so evaluating
restrictions at each period's start is exact (mod_cdrs "ChargingPeriod": a new period at every
event relevant to the cost). Durations come from UTC instants (DST days have 23 or 25 hours).
Volumes are kept to 1e-6 kWh and 1e-6 h, computed as differences of cumulative values so that
the periods add up exactly to the session totals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from itertools import pairwise

from clearing.tariffs.engine import CompiledTariff
from clearing.tariffs.model import ZERO, Period, TariffError, Usage
from clearing.tariffs.restrictions import duration_boundaries, energy_levels, local_boundaries

KWH_QUANTUM = Decimal("0.000001")
HOURS_QUANTUM = Decimal("0.000001")
_MICROS_PER_HOUR = Decimal(3_600_000_000)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def hours_between(start: datetime, end: datetime) -> Decimal:
    return (Decimal(_micros(end - start)) / _MICROS_PER_HOUR).quantize(
        HOURS_QUANTUM, rounding=ROUND_HALF_UP)


def build_usage(ct: CompiledTariff | None, start: datetime, end: datetime, kwh: Decimal,
                charging_end: datetime | None = None) -> Usage:
    """The session's periods under ``ct`` (None: one charging period, one parking period)."""
    if end < start:
        raise TariffError("end", f"{end.isoformat()} is before the start {start.isoformat()}")
    if kwh < 0:
        raise TariffError("kwh", f"energy must not be negative (going backwards), got {kwh}")
    stop = end if charging_end is None else charging_end
    if not start <= stop <= end:
        raise TariffError("charging_end", "must lie within the session")
    if stop == start < end and kwh > 0:
        raise TariffError("charging_end", f"{kwh} kWh charged in no charging time")
    cuts: dict[datetime, Decimal | None] = {start: ZERO}
    if stop < end:
        cuts[stop] = kwh
    if ct is not None and not ct.unrestricted:
        rs = list(ct.restrictions)
        for instant in local_boundaries(rs, start, end, ct.zone):
            cuts.setdefault(instant, None)
        for instant in duration_boundaries(rs, start, end):
            cuts.setdefault(instant, None)
        span = _micros(stop - start)
        if kwh > 0 and span > 0:
            for level in energy_levels(rs):
                if level < kwh:
                    micros = int((level * span / kwh).to_integral_value(ROUND_CEILING))
                    cuts[start + timedelta(microseconds=micros)] = level
    return _periods(sorted(cuts.items()), start, stop, end, kwh,
                    ct.tariff.id if ct is not None else None)


def _periods(cuts: list[tuple[datetime, Decimal | None]], start: datetime, stop: datetime,
             end: datetime, kwh: Decimal, tariff_id: str | None) -> Usage:
    span = _micros(stop - start)

    def energy_at(moment: datetime, fixed: Decimal | None) -> Decimal:
        if fixed is not None:
            return fixed
        if moment >= stop or span == 0:
            return kwh
        return (kwh * _micros(moment - start) / span).quantize(KWH_QUANTUM, ROUND_HALF_UP)

    points = [(m, energy_at(m, e), hours_between(start, m)) for m, e in cuts]
    points.append((end, kwh, hours_between(start, end)))
    periods = []
    for (a, e_a, h_a), (_b, e_b, h_b) in pairwise(points):
        hours = h_b - h_a
        charging = a < stop
        periods.append(Period(start=a, energy=e_b - e_a, time=hours if charging else ZERO,
                              parking=ZERO if charging else hours, tariff_id=tariff_id))
    return Usage(start, end, tuple(periods))
