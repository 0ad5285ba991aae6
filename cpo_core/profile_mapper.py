"""``hub.ports.ChargingLimits`` <-> OCPP charging profiles and composite schedules (issue 5).

A limit set on a session (OCPI mod_charging_profiles, SetChargingProfile) becomes a
transaction profile (``TxProfile``) on the station:

- OCPP 1.6 section 7.8 ChargingProfile (``csChargingProfiles``): ``chargingProfileId``,
  ``transactionId`` (our integer session key), one ``chargingSchedule``.
- OCPP 2.0.1 ChargingProfileType (K01): ``id``, ``transactionId`` (the station's string),
  a list of ``chargingSchedule`` with one entry (its ``id`` = the profile id).

``chargingProfileKind`` is ``Absolute`` when the schedule has a start, else ``Relative``
(relative to the start of the transaction, as OCPI says for an absent ``start_date_time``).
A GetCompositeSchedule answer (1.6 section 6.26 ``chargingSchedule`` + ``scheduleStart``;
2.0.1 ``schedule`` = CompositeScheduleType) maps back to limits with an absolute start.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cpo_core.base import format_timestamp
from hub.ports import ChargingLimits, LimitPeriod

TX_STACK_LEVEL = 1  # above a station's TxDefaultProfile at level 0


def _number(value: Decimal) -> int | float:
    """An OCPP decimal (one fraction digit: 1.6 section 7.13, 2.0.1 K01) on the wire: an int
    when whole, else a float, whose JSON text is the same short decimal (``8.5``). Our OCPP
    connection refuses Decimals, which the library would print with one fixed decimal."""
    return int(value) if value == value.to_integral_value() else float(value)


def _schedule(limits: ChargingLimits) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "chargingRateUnit": limits.rate_unit,
        "chargingSchedulePeriod": [{"startPeriod": p.start_period, "limit": _number(p.limit)}
                                   for p in limits.periods]}
    if limits.duration is not None:
        schedule["duration"] = limits.duration
    if limits.start is not None:
        schedule["startSchedule"] = format_timestamp(limits.start)
    if limits.min_rate is not None:
        schedule["minChargingRate"] = _number(limits.min_rate)
    return schedule


def _kind(limits: ChargingLimits) -> str:
    return "Absolute" if limits.start is not None else "Relative"


def tx_profile_16(profile_id: int, transaction_id: int, limits: ChargingLimits
                  ) -> dict[str, Any]:
    return {"chargingProfileId": profile_id, "transactionId": transaction_id,
            "stackLevel": TX_STACK_LEVEL, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": _kind(limits), "chargingSchedule": _schedule(limits)}


def tx_profile_201(profile_id: int, transaction_id: str, limits: ChargingLimits
                   ) -> dict[str, Any]:
    return {"id": profile_id, "transactionId": transaction_id,
            "stackLevel": TX_STACK_LEVEL, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": _kind(limits),
            "chargingSchedule": [{"id": profile_id, **_schedule(limits)}]}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def limits_from_composite(answer: dict[str, Any]) -> ChargingLimits | None:
    """A GetCompositeSchedule answer (1.6 or 2.0.1, camelCase) as limits, or None."""
    if "schedule" in answer:  # 2.0.1 CompositeScheduleType
        schedule = answer["schedule"]
        start = _parse_time(schedule.get("scheduleStart"))
    else:
        schedule = answer.get("chargingSchedule")
        start = _parse_time(answer.get("scheduleStart"))
    if not isinstance(schedule, dict):
        return None
    periods = tuple(LimitPeriod(int(p["startPeriod"]), Decimal(str(p["limit"])))
                    for p in schedule.get("chargingSchedulePeriod") or [])
    duration = schedule.get("duration")
    min_rate = schedule.get("minChargingRate")
    return ChargingLimits(
        rate_unit=str(schedule.get("chargingRateUnit", "W")), periods=periods,
        start=start or _parse_time(schedule.get("startSchedule")),
        duration=int(duration) if duration is not None else None,
        min_rate=Decimal(str(min_rate)) if min_rate is not None else None)
