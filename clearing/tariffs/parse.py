"""OCPI 2.2.1 JSON -> engine values, validating every field and naming it on failure.

Tariff: mod_tariffs.asciidoc "Tariff Object", "TariffElement class", "PriceComponent class",
"TariffRestrictions class". Usage: mod_cdrs.asciidoc "ChargingPeriod class", "CdrDimension".
Numbers are taken through ``str`` (never float arithmetic); read JSON with
``json.loads(text, parse_float=Decimal)`` to keep the sender's digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from clearing.tariffs.currencies import is_currency
from clearing.tariffs.model import (
    DAYS,
    DIMENSIONS,
    EMPTY_RESTRICTIONS,
    RESERVATION,
    RESERVATION_EXPIRES,
    TARIFF_TYPES,
    ZERO,
    Component,
    Element,
    OcpiTariff,
    Period,
    Price,
    Restrictions,
    TariffError,
    Usage,
)

_TIME = re.compile(r"([0-1][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


def decimal_at(value: object, path: str, *, non_negative: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TariffError(path, f"must be a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise TariffError(path, f"must be a number, got {value!r}") from None
    if not number.is_finite():
        raise TariffError(path, f"must be a finite number, got {value!r}")
    if non_negative and number < 0:
        raise TariffError(path, f"must not be negative, got {value}")
    return number


def _int_at(value: object, path: str) -> int:
    number = decimal_at(value, path)
    if number != number.to_integral_value():
        raise TariffError(path, f"must be a whole number, got {value!r}")
    return int(number)


def datetime_at(value: object, path: str) -> datetime:
    if not isinstance(value, str):
        raise TariffError(path, f"must be an RFC 3339 date-time string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TariffError(path, f"not a valid date-time: {value!r}") from None
    # OCPI DateTime is UTC; a value without offset is read as UTC (types.asciidoc DateTime).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time_at(value: object, path: str) -> int:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TariffError(path, f"must be HH:MM (24h, leading zeros), got {value!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _date_at(value: object, path: str) -> date:
    match = _DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TariffError(path, f"must be YYYY-MM-DD, got {value!r}")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise TariffError(path, f"no such date: {value!r}") from None


def _list_at(data: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise TariffError(f"{path}{key}", "must be a non-empty list")
    return value


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TariffError(path, f"must be an object, got {type(value).__name__}")
    return value


def _opt(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    return None if value is None else value


def parse_price(value: object, path: str) -> Price:
    data = _mapping(value, path)
    if "excl_vat" not in data:
        raise TariffError(f"{path}.excl_vat", "is required")
    excl = decimal_at(data["excl_vat"], f"{path}.excl_vat")
    incl = None if data.get("incl_vat") is None else decimal_at(data["incl_vat"],
                                                                f"{path}.incl_vat")
    if incl is not None and incl < excl:
        raise TariffError(f"{path}.incl_vat", f"{incl} is below excl_vat {excl}")
    return Price(excl, incl)


def parse_component(value: object, path: str) -> Component:
    data = _mapping(value, path)
    kind = data.get("type")
    if kind not in DIMENSIONS:
        raise TariffError(f"{path}.type", f"must be one of {', '.join(DIMENSIONS)}, got {kind!r}")
    if data.get("price") is None:
        raise TariffError(f"{path}.price", "is required")
    price = decimal_at(data["price"], f"{path}.price")
    vat = None if data.get("vat") is None else decimal_at(data["vat"], f"{path}.vat")
    if vat is not None and vat > 100:
        raise TariffError(f"{path}.vat", f"is a percentage, {vat} is over 100")
    step = 1 if data.get("step_size") is None else _int_at(data["step_size"], f"{path}.step_size")
    return Component(type=str(kind), price=price, step_size=step, vat=vat)


def parse_restrictions(value: object, path: str) -> Restrictions:
    if value is None:
        return EMPTY_RESTRICTIONS
    data = _mapping(value, path)
    num = {k: None if data.get(k) is None else decimal_at(data[k], f"{path}.{k}")
           for k in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power",
                     "max_power")}
    durations = {k: None if data.get(k) is None else _int_at(data[k], f"{path}.{k}")
                 for k in ("min_duration", "max_duration")}
    for low, high in (("min_kwh", "max_kwh"), ("min_current", "max_current"),
                      ("min_power", "max_power")):
        lo, hi = num[low], num[high]
        if lo is not None and hi is not None and lo >= hi:
            raise TariffError(f"{path}.{high}", f"{hi} must be above {low} {lo}")
    lo_d, hi_d = durations["min_duration"], durations["max_duration"]
    if lo_d is not None and hi_d is not None and lo_d >= hi_d:
        raise TariffError(f"{path}.max_duration", f"{hi_d} must be above min_duration {lo_d}")
    days = data.get("day_of_week") or []
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise TariffError(f"{path}.day_of_week", f"must be a list of {', '.join(DAYS)}")
    reservation = _opt(data, "reservation")
    if reservation is not None and reservation not in (RESERVATION, RESERVATION_EXPIRES):
        raise TariffError(f"{path}.reservation",
                          f"must be RESERVATION or RESERVATION_EXPIRES, got {reservation!r}")
    start_date = None if data.get("start_date") is None else _date_at(data["start_date"],
                                                                      f"{path}.start_date")
    end_date = None if data.get("end_date") is None else _date_at(data["end_date"],
                                                                  f"{path}.end_date")
    if start_date and end_date and end_date <= start_date:
        raise TariffError(f"{path}.end_date", f"{end_date} is not after start_date {start_date}")
    return Restrictions(
        start_time=None if data.get("start_time") is None else _time_at(
            data["start_time"], f"{path}.start_time"),
        end_time=None if data.get("end_time") is None else _time_at(
            data["end_time"], f"{path}.end_time"),
        start_date=start_date, end_date=end_date, min_duration=lo_d, max_duration=hi_d,
        day_of_week=frozenset(DAYS.index(d) for d in days), reservation=reservation,
        **num,
    )


def parse_tariff(value: object) -> OcpiTariff:
    """Validate an OCPI 2.2.1 Tariff object; ``TariffError`` names the first bad field."""
    data = _mapping(value, "tariff")
    for key in ("country_code", "party_id", "id", "currency"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise TariffError(key, "is required (a non-empty string)")
    currency = str(data["currency"])
    if not is_currency(currency):
        raise TariffError("currency", f"unknown ISO 4217 currency {currency!r}")
    elements = []
    for i, raw in enumerate(_list_at(data, "elements", "")):
        path = f"elements[{i}]"
        element = _mapping(raw, path)
        components = tuple(parse_component(c, f"{path}.price_components[{j}]")
                           for j, c in enumerate(_list_at(element, "price_components",
                                                          f"{path}.")))
        restrictions = parse_restrictions(element.get("restrictions"), f"{path}.restrictions")
        elements.append(Element(components, restrictions))
    kind = _opt(data, "type")
    if kind is not None and kind not in TARIFF_TYPES:
        raise TariffError("type", f"must be one of {', '.join(TARIFF_TYPES)}, got {kind!r}")
    start = None if data.get("start_date_time") is None else datetime_at(
        data["start_date_time"], "start_date_time")
    end = None if data.get("end_date_time") is None else datetime_at(
        data["end_date_time"], "end_date_time")
    if start and end and end <= start:
        raise TariffError("end_date_time", f"{end.isoformat()} is not after start_date_time")
    min_price = None if data.get("min_price") is None else parse_price(data["min_price"],
                                                                       "min_price")
    max_price = None if data.get("max_price") is None else parse_price(data["max_price"],
                                                                       "max_price")
    if min_price and max_price and max_price.excl_vat < min_price.excl_vat:
        raise TariffError("max_price.excl_vat", "is below min_price.excl_vat")
    alt = tuple((str(t.get("language", "")), str(t.get("text", "")))
                for t in data.get("tariff_alt_text") or [] if isinstance(t, Mapping))
    return OcpiTariff(
        country_code=str(data["country_code"]), party_id=str(data["party_id"]),
        id=str(data["id"]), currency=currency, elements=tuple(elements), type=kind,
        min_price=min_price, max_price=max_price, start_date_time=start, end_date_time=end,
        last_updated=None if data.get("last_updated") is None else datetime_at(
            data["last_updated"], "last_updated"),
        alt_text=alt,
    )


def check_validity_overlap(tariffs: Sequence[OcpiTariff]) -> None:
    """Tariffs offered together (one connector, one type) must not be valid at the same
    instant: otherwise which one a driver accepted is ambiguous. Names the offending field."""
    far_past, far_future = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    spans = sorted(((t.start_date_time or far_past, t.end_date_time or far_future, i, t)
                    for i, t in enumerate(tariffs)), key=lambda s: (s[0], s[2]))
    for (_s1, e1, i1, t1), (s2, _e2, i2, t2) in pairwise(spans):
        if t1.type == t2.type and s2 < e1:
            raise TariffError(f"tariffs[{i2}].start_date_time",
                              f"tariff {t2.id!r} overlaps the validity of tariff {t1.id!r} "
                              f"(tariffs[{i1}]) from {s2.isoformat()}")


_DIMENSION_KEYS = {"ENERGY": "energy", "TIME": "time", "PARKING_TIME": "parking",
                   "RESERVATION_TIME": "reservation", "MIN_CURRENT": "min_current",
                   "MAX_CURRENT": "max_current", "MIN_POWER": "min_power",
                   "MAX_POWER": "max_power"}
_SESSION_ONLY = frozenset({"CURRENT", "ENERGY_EXPORT", "ENERGY_IMPORT", "POWER",
                           "STATE_OF_CHARGE"})


def parse_usage(value: object) -> Usage:
    """An OCPI 2.2.1 CDR's periods and dimensions as a ``Usage`` (its cost fields ignored).

    Rejected: periods out of order or outside [start_date_time, end_date_time], negative
    energy or time, unknown dimension types. A period without TIME, PARKING_TIME and
    RESERVATION_TIME volumes is priced with its duration as charging time, with a warning.
    """
    data = _mapping(value, "cdr")
    if data.get("start_date_time") is None or data.get("end_date_time") is None:
        raise TariffError("start_date_time" if data.get("start_date_time") is None
                          else "end_date_time", "is required")
    start = datetime_at(data["start_date_time"], "start_date_time")
    end = datetime_at(data["end_date_time"], "end_date_time")
    if end < start:
        raise TariffError("end_date_time", "is before start_date_time")
    raw_periods = _list_at(data, "charging_periods", "")
    periods: list[Period] = []
    warnings: list[str] = []
    for i, raw in enumerate(raw_periods):
        path = f"charging_periods[{i}]"
        period = _mapping(raw, path)
        moment = datetime_at(period.get("start_date_time"), f"{path}.start_date_time")
        if moment < start or moment > end:
            raise TariffError(f"{path}.start_date_time",
                              f"{moment.isoformat()} is outside the session "
                              f"[{start.isoformat()}, {end.isoformat()}]")
        if periods and moment < periods[-1].start:
            raise TariffError(f"{path}.start_date_time",
                              "periods are out of order (starts before the previous period)")
        periods.append(_period(period, moment, path))
    for i, priced in enumerate(periods):
        if priced.time == priced.parking == priced.reservation == ZERO:
            until = periods[i + 1].start if i + 1 < len(periods) else end
            hours = _hours(until - priced.start)
            periods[i] = replace(priced, time=hours)
            warnings.append(f"charging_periods[{i}]: no TIME/PARKING_TIME dimension; its "
                            f"duration ({hours.normalize()} h) was priced as charging time")
    return Usage(start, end, tuple(periods), tuple(warnings))


def _hours(delta: timedelta) -> Decimal:
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (Decimal(micros) / 3_600_000_000).quantize(Decimal("0.000001"))


def _period(period: Mapping[str, Any], moment: datetime, path: str) -> Period:
    values: dict[str, Decimal] = {}
    for j, raw in enumerate(_list_at(period, "dimensions", f"{path}.")):
        dim = _mapping(raw, f"{path}.dimensions[{j}]")
        kind = dim.get("type")
        key = _DIMENSION_KEYS.get(str(kind))
        if key is None:
            if kind in _SESSION_ONLY:
                continue  # Session-only dimensions (mod_cdrs CdrDimensionType) carry no cost
            raise TariffError(f"{path}.dimensions[{j}].type", f"unknown dimension {kind!r}")
        signed = key in ("min_current", "min_power")
        volume = decimal_at(dim.get("volume"), f"{path}.dimensions[{j}].volume",
                            non_negative=not signed)
        values[key] = values.get(key, ZERO) + volume if key in (
            "energy", "time", "parking", "reservation") else volume
    tariff_id = period.get("tariff_id")
    return Period(start=moment, tariff_id=str(tariff_id) if tariff_id else None,
                  **values)
