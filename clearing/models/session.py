"""Per-session price models: start + hourly + kWh fee, the hotel model, a fixed owner price
(public/private), price groups by token group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from clearing.models.base import (
    ZERO,
    ModelLine,
    ModelPrice,
    PriceModel,
    SessionInput,
    component,
    ocpi_tariff,
    priced,
)
from clearing.tariffs.engine import zone_for
from clearing.tariffs.parse import _time_at
from clearing.tariffs.sessions import hours_between
from hub.domain import InvalidInput

HOUR_MINUTES = Decimal(60)


@dataclass(frozen=True, slots=True)
class StartHourlyKwh(PriceModel):
    """Start fee + fee per hour plugged in + price per kWh (OCPI: FLAT + TIME + ENERGY)."""

    kind: ClassVar[str] = "start_hourly_kwh"
    currency: str
    start_fee: Decimal
    hourly_fee: Decimal
    kwh_price: Decimal
    vat: Decimal | None = None  # percent; None: not stated (see priced)

    def price(self, s: SessionInput, time_zone: str = "UTC") -> ModelPrice:
        return priced(self.currency, self.vat, [
            ModelLine("start fee", Decimal(1), "session", self.start_fee),
            ModelLine("time", s.hours, "h", self.hourly_fee),
            ModelLine("energy", s.kwh, "kWh", self.kwh_price)])

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        return ocpi_tariff(cc, party, tariff_id, self.currency, [{"price_components": [
            component("FLAT", self.start_fee), component("TIME", self.hourly_fee),
            component("ENERGY", self.kwh_price)]}], [])


def minutes_in_window(start: datetime, end: datetime, time_zone: str, window_start: str,
                      window_end: str) -> Decimal:
    """Minutes of [start, end) inside a daily local window (end < start wraps midnight;
    equal bounds: the whole day). Durations from UTC instants (DST days are right)."""
    zone = zone_for(time_zone)
    a, b = _time_at(window_start, "window_start_time"), _time_at(window_end, "window_end_time")
    if a == b:
        return hours_between(start, end) * HOUR_MINUTES
    total = ZERO
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date():
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        lo = midnight + timedelta(minutes=a)
        hi = midnight + timedelta(minutes=b if b > a else b + 1440)
        lo_u, hi_u = max(lo, start), min(hi, end)
        if hi_u > lo_u:
            total += hours_between(lo_u, hi_u) * HOUR_MINUTES
        day += timedelta(days=1)
    return total


@dataclass(frozen=True, slots=True)
class Hotel(PriceModel):
    """Per kWh while charging, then a blocking fee per minute from the moment the car is full
    until it is unplugged (after ``grace_minutes``), optionally only inside a daily local
    window (e.g. 08:00-22:00: nights are free to block)."""

    kind: ClassVar[str] = "hotel"
    currency: str
    kwh_price: Decimal
    blocking_fee_per_minute: Decimal
    grace_minutes: int = 0
    window_start_time: str | None = None
    window_end_time: str | None = None
    vat: Decimal | None = None  # percent; None: not stated (see priced)

    def check(self) -> None:
        if (self.window_start_time is None) != (self.window_end_time is None):
            raise InvalidInput("window_end_time: give both window times or neither")

    def price(self, s: SessionInput, time_zone: str = "UTC") -> ModelPrice:
        full = s.full_at or s.end
        blocking_from = min(full + timedelta(minutes=self.grace_minutes), s.end)
        if self.window_start_time and self.window_end_time:
            minutes = minutes_in_window(blocking_from, s.end, time_zone,
                                        self.window_start_time, self.window_end_time)
        else:
            minutes = hours_between(blocking_from, s.end) * HOUR_MINUTES
        return priced(self.currency, self.vat, [
            ModelLine("energy", s.kwh, "kWh", self.kwh_price),
            ModelLine("blocking", minutes, "min", self.blocking_fee_per_minute)])

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        parking: dict[str, Any] = {"price_components": [component(
            "PARKING_TIME", self.blocking_fee_per_minute * HOUR_MINUTES, 60)]}
        alt = ["Blocking fee per minute after the car is full."]
        if self.window_start_time and self.window_end_time:
            parking["restrictions"] = {"start_time": self.window_start_time,
                                       "end_time": self.window_end_time}
        if self.grace_minutes:
            alt.append(f"The first {self.grace_minutes} minutes after charging are free "
                       "(not expressible in OCPI 2.2.1).")
        return ocpi_tariff(cc, party, tariff_id, self.currency, [
            {"price_components": [component("ENERGY", self.kwh_price)]}, parking], alt)


@dataclass(frozen=True, slots=True)
class OwnerFixed(PriceModel):
    """A fixed price per kWh set by the owner, one for public use and one for private use
    (the owner's own tokens). Partners only ever see the public price."""

    kind: ClassVar[str] = "owner_fixed"
    currency: str
    public_kwh_price: Decimal
    private_kwh_price: Decimal
    vat: Decimal | None = None  # percent; None: not stated (see priced)

    def price(self, s: SessionInput, time_zone: str = "UTC") -> ModelPrice:
        unit = self.private_kwh_price if s.private else self.public_kwh_price
        return priced(self.currency, self.vat, [
            ModelLine("energy (private)" if s.private else "energy", s.kwh, "kWh", unit)])

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        return ocpi_tariff(cc, party, tariff_id, self.currency, [
            {"price_components": [component("ENERGY", self.public_kwh_price)]}], [])


@dataclass(frozen=True, slots=True)
class PriceGroups(PriceModel):
    """A price per kWh per token group (e.g. VIP, standard); unknown groups pay the default
    group's price. OCPI 2.2.1 tariffs cannot depend on the token: partners get the default."""

    kind: ClassVar[str] = "price_groups"
    currency: str
    kwh_prices: dict[str, Decimal] = field(default_factory=dict)
    default_group: str = "standard"
    start_fee: Decimal = Decimal(0)
    vat: Decimal | None = None  # percent; None: not stated (see priced)

    def check(self) -> None:
        if self.default_group not in self.kwh_prices:
            raise InvalidInput(f"default_group: {self.default_group!r} has no price in "
                               "kwh_prices")

    def price(self, s: SessionInput, time_zone: str = "UTC") -> ModelPrice:
        group = s.token_group if s.token_group in self.kwh_prices else self.default_group
        return priced(self.currency, self.vat, [
            ModelLine("start fee", Decimal(1), "session", self.start_fee),
            ModelLine(f"energy ({group})", s.kwh, "kWh", self.kwh_prices[group])])

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        others = ", ".join(f"{g} {p} {self.currency}/kWh" for g, p in self.kwh_prices.items()
                           if g != self.default_group)
        comps = [component("ENERGY", self.kwh_prices[self.default_group])]
        if self.start_fee:
            comps.insert(0, component("FLAT", self.start_fee))
        return ocpi_tariff(cc, party, tariff_id, self.currency, [{"price_components": comps}],
                           [f"Members' prices: {others}."] if others else [])
