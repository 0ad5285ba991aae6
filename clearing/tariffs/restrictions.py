"""TariffRestrictions: when an element is active, and where its activity can change.

Semantics (PROTOCOL_NOTES "Tariff semantics we choose"; mod_tariffs TariffRestrictions class):
- evaluated at the start of each charging period, in the location's IANA time zone;
- ``start_time``/``end_time`` are minutes of the local day, ``end_time < start_time`` wraps past
  midnight, ``end_time`` 00:00 alone means the end of the day; ``end_date``, ``max_*`` exclusive;
- ``min_kwh``/``max_kwh`` compare the energy charged before the period starts;
- ``min_duration``/``max_duration`` compare seconds since the charging session started;
- ``max_current``/``max_power`` compare the period's maximum (``min_*``: its minimum); power
  falls back to the period's average (energy / charging time); a current restriction on a period
  without current data does not match (reported as a warning);
- ``reservation``: elements with it describe reservation costs only, elements without it
  never do; an expired reservation prefers RESERVATION_EXPIRES elements (mod_tariffs
  ReservationRestrictionType note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from clearing.tariffs.model import RESERVATION_EXPIRES, ZERO, Period, Restrictions

CHARGING, RESERVED, EXPIRED = "charging", "reserved", "expired"


@dataclass(slots=True)
class Moment:
    """What restrictions look at, at the start of one period."""

    phase: str
    minute: int  # minute of the local day
    day: date  # local date
    weekday: int
    kwh_before: Decimal
    seconds: Decimal  # since the charging session started
    period: Period


def window_open(r: Restrictions, minute: int) -> bool:
    start, end = r.start_time, r.end_time
    if start is None and end is None:
        return True
    if start is None:
        return minute < (end or 1440)
    if end is None:
        return minute >= start
    if start < end:
        return start <= minute < end
    if start == end:
        return True
    return minute >= start or minute < end  # wraps past midnight


def matches(r: Restrictions, m: Moment, missing: list[str]) -> bool:
    """All set restrictions hold (logical AND); ``missing`` collects data we lacked."""
    if r.reservation is None:
        if m.phase != CHARGING:
            return False
    elif m.phase == CHARGING or (r.reservation == RESERVATION_EXPIRES and m.phase != EXPIRED):
        return False
    if not window_open(r, m.minute):
        return False
    if r.start_date is not None and m.day < r.start_date:
        return False
    if r.end_date is not None and m.day >= r.end_date:
        return False
    if r.day_of_week and m.weekday not in r.day_of_week:
        return False
    if r.min_kwh is not None and m.kwh_before < r.min_kwh:
        return False
    if r.max_kwh is not None and m.kwh_before >= r.max_kwh:
        return False
    if r.min_duration is not None and m.seconds < r.min_duration:
        return False
    if r.max_duration is not None and m.seconds >= r.max_duration:
        return False
    if (r.min_current is not None or r.max_current is not None) and not _electric_ok(
            r.min_current, r.max_current, m.period.min_current, m.period.max_current):
        if m.period.min_current is None and m.period.max_current is None:
            missing.append("current")
        return False
    if r.min_power is not None or r.max_power is not None:
        low, high = m.period.min_power, m.period.max_power
        if low is None and high is None and m.period.time > 0:
            low = high = m.period.energy / m.period.time
        if not _electric_ok(r.min_power, r.max_power, low, high):
            if low is None and high is None:
                missing.append("power")
            return False
    return True


def _electric_ok(lo: Decimal | None, hi: Decimal | None, low: Decimal | None,
                 high: Decimal | None) -> bool:
    low = low if low is not None else high
    high = high if high is not None else low
    if low is None or high is None:
        return False
    return (lo is None or low >= lo) and (hi is None or high < hi)


def local_boundaries(restrictions: list[Restrictions], start: datetime, end: datetime,
                     zone: ZoneInfo) -> list[datetime]:
    """UTC instants in (start, end) where a time-of-day, date or weekday restriction can flip."""
    minutes: set[int] = set()
    days_matter = False
    for r in restrictions:
        minutes.update(m for m in (r.start_time, r.end_time) if m is not None)
        days_matter = days_matter or bool(r.day_of_week or r.start_date or r.end_date)
    if days_matter:
        minutes.add(0)
    if not minutes:
        return []
    out: list[datetime] = []
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        for minute in minutes:
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            instant = local.astimezone(start.tzinfo)
            if start < instant < end:
                out.append(instant)
        day += timedelta(days=1)
    return out


def duration_boundaries(restrictions: list[Restrictions], start: datetime,
                        end: datetime) -> list[datetime]:
    out = []
    for r in restrictions:
        for seconds in (r.min_duration, r.max_duration):
            if seconds is not None and seconds > 0:
                instant = start + timedelta(seconds=seconds)
                if instant < end:
                    out.append(instant)
    return out


def energy_levels(restrictions: list[Restrictions]) -> list[Decimal]:
    return sorted({v for r in restrictions for v in (r.min_kwh, r.max_kwh)
                   if v is not None and v > ZERO})
