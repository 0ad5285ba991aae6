"""OCPI 2.2.1 mod_charging_profiles wire types and their mapping to ``hub.ports.ChargingLimits``.

The OCPP side of the same limits (1.6 csChargingProfiles, 2.0.1 ChargingProfileType, composite
schedules) is ``cpo_core.profile_mapper``; the two meet only in the protocol-neutral value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from hub.ports import ChargingLimits, LimitPeriod
from ocpi.schemas import DateTime, OcpiModel

# mod_charging_profiles ChargingProfile: "Accepts at most one digit fraction (e.g. 8.1)".
Rate = Annotated[Decimal, Field(ge=0, decimal_places=1)]


class ChargingProfilePeriod(OcpiModel):
    start_period: Annotated[int, Field(ge=0)]
    limit: Rate


class ChargingProfile(OcpiModel):
    start_date_time: DateTime | None = None
    duration: Annotated[int, Field(ge=0)] | None = None
    charging_rate_unit: Literal["W", "A"]
    min_charging_rate: Rate | None = None
    charging_profile_period: list[ChargingProfilePeriod] = Field(default_factory=list)


class SetChargingProfile(OcpiModel):
    charging_profile: ChargingProfile
    response_url: str


def limits_to_domain(profile: ChargingProfile) -> ChargingLimits:
    return ChargingLimits(
        rate_unit=profile.charging_rate_unit,
        periods=tuple(LimitPeriod(p.start_period, p.limit)
                      for p in profile.charging_profile_period),
        start=profile.start_date_time, duration=profile.duration,
        min_rate=profile.min_charging_rate)


def limits_from_domain(limits: ChargingLimits) -> dict[str, Any]:
    """An OCPI ChargingProfile (Decimals and datetimes left to ``ocpi.encoding``)."""
    out: dict[str, Any] = {"charging_rate_unit": limits.rate_unit}
    if limits.start is not None:
        out["start_date_time"] = limits.start
    if limits.duration is not None:
        out["duration"] = limits.duration
    if limits.min_rate is not None:
        out["min_charging_rate"] = limits.min_rate
    out["charging_profile_period"] = [{"start_period": p.start_period, "limit": p.limit}
                                      for p in limits.periods]
    return out


def active_profile(limits: ChargingLimits, now: datetime) -> dict[str, Any]:
    """ActiveChargingProfile: ``start_date_time`` is when the station calculated it (its
    composite schedule start), else ``now``."""
    return {"start_date_time": limits.start or now,
            "charging_profile": limits_from_domain(limits)}
