"""Data-quality checks on objects partners push to us (issue 5 item 7).

Partners' data is accepted as long as it is valid OCPI (the receivers answer 2001 otherwise);
what is valid but implausible or inconsistent is *reported*, not refused: a roaming hub that
refuses a Location because an EVSE's coordinates are 0,0 loses the EVSE for every driver. Each
check yields a finding (code, severity, where in the object, a sentence for the operator); the
findings of one object replace its previous ones each time it is pushed again, so the list in
the admin API (``GET /admin/ocpi/quality``) is always the current state of every object.

The checks are pure functions of the validated object and ``now``; the references are in each
check's comment (``mod_locations``, ``mod_tariffs``, ``mod_cdrs`` of
``../shared/specs/ocpi-2.2.1/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.admin import hub_context, require_admin
from hub.context import HubContext
from hub.db.models import OcpiQualityFindingRow
from hub.domain.countries import ALPHA2
from ocpi.schemas import Cdr
from ocpi.schemas_objects import Location, Tariff

Severity = Literal["ERROR", "WARNING"]
Module = Literal["locations", "tariffs", "cdrs"]

# A push whose last_updated is further ahead of our clock than this is flagged.
CLOCK_SKEW = timedelta(minutes=5)
# mod_locations, GeoLocation: latitude "-?[0-9]{1,2}\.[0-9]{5,7}", longitude
# "-?[0-9]{1,3}\.[0-9]{5,7}".
LATITUDE = re.compile(r"-?[0-9]{1,2}\.[0-9]{5,7}")
LONGITUDE = re.compile(r"-?[0-9]{1,3}\.[0-9]{5,7}")
# eMI3 EVSE id (mod_locations, EVSE object, evse_id: "ISO/IEC 15118-2 - Annex H"), the
# separators optional: country, operator, "E", the power outlet id.
EVSE_ID = re.compile(r"[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}", re.IGNORECASE)
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
WEEKDAYS = {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}
PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}
# Plausibility limits (per unit of the tariff's currency; roaming currencies are of similar
# magnitude except SEK/NOK/DKK, hence generous): beyond them a price is almost surely a unit
# error (price per Wh sent as per kWh, cents sent as euros).
MAX_PRICE = {"ENERGY": Decimal("10"), "TIME": Decimal("200"), "PARKING_TIME": Decimal("200"),
             "FLAT": Decimal("200")}
MAX_VAT_PERCENT = Decimal("30")
MAX_POWER_KW = Decimal("1000")  # above any charger built today (MCS included)
MAX_DURATION_HOURS = Decimal("72")
COST_TOLERANCE = Decimal("0.01")
ENERGY_TOLERANCE = Decimal("0.01")  # kWh


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    path: str
    message: str


def _geo(path: str, lat: str, lon: str) -> list[Finding]:
    found: list[Finding] = []
    if not LATITUDE.fullmatch(lat) or not LONGITUDE.fullmatch(lon):
        found.append(Finding("COORDINATES_FORMAT", "WARNING", path,
                             f"coordinates {lat},{lon} do not have the format of "
                             "mod_locations GeoLocation (5 to 7 decimals)"))
    try:
        la, lo = Decimal(lat), Decimal(lon)
    except InvalidOperation:
        return [*found, Finding("COORDINATES_INVALID", "ERROR", path,
                                f"coordinates {lat},{lon} are not numbers")]
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        found.append(Finding("COORDINATES_INVALID", "ERROR", path,
                             f"coordinates {lat},{lon} are outside the globe"))
    elif la == 0 and lo == 0:
        found.append(Finding("COORDINATES_ZERO", "ERROR", path,
                             "coordinates are 0,0 (in the Gulf of Guinea): not set"))
    return found


def check_location(loc: Location, now: datetime) -> list[Finding]:
    found = _geo("coordinates", loc.coordinates.latitude, loc.coordinates.longitude)
    if loc.country.upper() not in ALPHA2:
        found.append(Finding("COUNTRY_OUTSIDE_AREA", "WARNING", "country",
                             f"country {loc.country} is not one the hub roams in"))
    try:
        ZoneInfo(loc.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(Finding("TIME_ZONE_INVALID", "ERROR", "time_zone",
                             f"time_zone {loc.time_zone!r} is not an IANA tz name; tariff "
                             "restrictions of this location are read in UTC"))
    if loc.last_updated > now + CLOCK_SKEW:
        found.append(Finding("LAST_UPDATED_FUTURE", "WARNING", "last_updated",
                             f"last_updated {loc.last_updated.isoformat()} is in the future"))
    evses = loc.evses or []
    if loc.publish and not evses:
        found.append(Finding("NO_EVSES", "WARNING", "evses",
                             "a published location without EVSEs cannot be charged at"))
    seen_uids: set[str] = set()
    seen_ids: set[str] = set()
    for i, evse in enumerate(evses):
        at = f"evses[{i}]"
        if evse.uid.upper() in seen_uids:
            found.append(Finding("EVSE_DUPLICATE_UID", "ERROR", f"{at}.uid",
                                 f"EVSE uid {evse.uid} appears twice"))
        seen_uids.add(evse.uid.upper())
        if evse.evse_id:
            if not EVSE_ID.fullmatch(evse.evse_id):
                found.append(Finding("EVSE_ID_FORMAT", "WARNING", f"{at}.evse_id",
                                     f"evse_id {evse.evse_id} is not an eMI3 EVSE id"))
            key = evse.evse_id.replace("*", "").upper()
            if key in seen_ids:
                found.append(Finding("EVSE_DUPLICATE_ID", "ERROR", f"{at}.evse_id",
                                     f"evse_id {evse.evse_id} appears twice"))
            seen_ids.add(key)
        elif evse.status != "REMOVED":
            found.append(Finding("EVSE_ID_MISSING", "WARNING", f"{at}.evse_id",
                                 "no evse_id: drivers and eMSPs cannot identify the EVSE"))
        if evse.coordinates is not None:
            found += _geo(f"{at}.coordinates", evse.coordinates.latitude,
                          evse.coordinates.longitude)
        for j, conn in enumerate(evse.connectors):
            found += _check_connector(f"{at}.connectors[{j}]", conn.power_type,
                                      conn.max_voltage, conn.max_amperage,
                                      conn.max_electric_power)
    return found


def _check_connector(at: str, power_type: str, volts: int, amps: int,
                     watts: int | None) -> list[Finding]:
    if volts <= 0 or amps <= 0:
        return [Finding("CONNECTOR_RATING_ZERO", "ERROR", at,
                        f"max_voltage {volts} V / max_amperage {amps} A: not a rating")]
    # mod_locations, Connector: for AC_3_PHASE max_voltage is line to neutral, so the
    # theoretical maximum is V x A x phases.
    theoretical = volts * amps * PHASES.get(power_type, 1)
    if watts is not None and watts > theoretical * 1.1:
        return [Finding("CONNECTOR_POWER_INCONSISTENT", "WARNING", f"{at}.max_electric_power",
                        f"max_electric_power {watts} W exceeds {volts} V x {amps} A x "
                        f"{PHASES.get(power_type, 1)} phase(s) = {theoretical} W")]
    return []


def check_tariff(tariff: Tariff, now: datetime) -> list[Finding]:
    found: list[Finding] = []
    if tariff.last_updated > now + CLOCK_SKEW:
        found.append(Finding("LAST_UPDATED_FUTURE", "WARNING", "last_updated",
                             f"last_updated {tariff.last_updated.isoformat()} is in the future"))
    if tariff.start_date_time and tariff.end_date_time and \
            tariff.end_date_time <= tariff.start_date_time:
        found.append(Finding("VALIDITY_EMPTY", "ERROR", "end_date_time",
                             "end_date_time is not after start_date_time: never valid"))
    elif tariff.end_date_time and tariff.end_date_time < now:
        found.append(Finding("EXPIRED", "WARNING", "end_date_time",
                             f"expired on {tariff.end_date_time.isoformat()}"))
    if tariff.min_price and tariff.max_price and \
            tariff.min_price.excl_vat > tariff.max_price.excl_vat:
        found.append(Finding("MIN_ABOVE_MAX", "ERROR", "min_price",
                             f"min_price {tariff.min_price.excl_vat} is above max_price "
                             f"{tariff.max_price.excl_vat}"))
    for i, element in enumerate(tariff.elements):
        for j, pc in enumerate(element.price_components):
            at = f"elements[{i}].price_components[{j}]"
            if pc.price < 0:
                found.append(Finding("PRICE_NEGATIVE", "ERROR", f"{at}.price",
                                     f"{pc.type} price {pc.price} is negative"))
            elif pc.price > MAX_PRICE[pc.type]:
                found.append(Finding("PRICE_IMPLAUSIBLE", "WARNING", f"{at}.price",
                                     f"{pc.type} price {pc.price} {tariff.currency} is above "
                                     f"{MAX_PRICE[pc.type]}: a unit error?"))
            if pc.step_size <= 0:
                found.append(Finding("STEP_SIZE_INVALID", "ERROR", f"{at}.step_size",
                                     f"step_size {pc.step_size} must be at least 1"))
            if pc.vat is not None and not (0 <= pc.vat <= MAX_VAT_PERCENT):
                found.append(Finding("VAT_IMPLAUSIBLE", "WARNING", f"{at}.vat",
                                     f"vat {pc.vat} % is not a VAT rate"))
        found += _check_restrictions(f"elements[{i}].restrictions", element.restrictions or {})
    return found


def _check_restrictions(at: str, r: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for key in ("start_time", "end_time"):
        value = r.get(key)
        if value is not None and not (isinstance(value, str) and HHMM.fullmatch(value)):
            found.append(Finding("RESTRICTION_TIME_FORMAT", "ERROR", f"{at}.{key}",
                                 f"{key} {value!r} is not HH:MM"))
    days = r.get("day_of_week") or []
    bad = [d for d in days if d not in WEEKDAYS]
    if bad:
        found.append(Finding("RESTRICTION_DAY_UNKNOWN", "ERROR", f"{at}.day_of_week",
                             f"unknown day(s) {bad}"))
    for low, high in (("min_kwh", "max_kwh"), ("min_current", "max_current"),
                      ("min_power", "max_power"), ("min_duration", "max_duration")):
        lo, hi = r.get(low), r.get(high)
        try:
            if lo is not None and hi is not None and Decimal(str(lo)) > Decimal(str(hi)):
                found.append(Finding("RESTRICTION_EMPTY_RANGE", "ERROR", f"{at}.{low}",
                                     f"{low} {lo} is above {high} {hi}: never applies"))
        except InvalidOperation:
            found.append(Finding("RESTRICTION_NOT_A_NUMBER", "ERROR", f"{at}.{low}",
                                 f"{low}/{high} are not numbers"))
    return found


def check_cdr(cdr: Cdr, now: datetime) -> list[Finding]:
    found: list[Finding] = []
    if cdr.end_date_time < cdr.start_date_time:
        found.append(Finding("END_BEFORE_START", "ERROR", "end_date_time",
                             "end_date_time is before start_date_time"))
    if cdr.end_date_time > now + CLOCK_SKEW:
        found.append(Finding("END_IN_FUTURE", "ERROR", "end_date_time",
                             f"end_date_time {cdr.end_date_time.isoformat()} is in the future"))
    for name in ("total_energy", "total_time", "total_parking_time"):
        value = getattr(cdr, name)
        if value is not None and value < 0:
            found.append(Finding("NEGATIVE_TOTAL", "ERROR", name, f"{name} {value} is negative"))
    if cdr.total_time > MAX_DURATION_HOURS:
        found.append(Finding("DURATION_IMPLAUSIBLE", "WARNING", "total_time",
                             f"total_time {cdr.total_time} h is over {MAX_DURATION_HOURS} h"))
    if cdr.total_time > 0 and cdr.total_energy / cdr.total_time > MAX_POWER_KW:
        found.append(Finding("POWER_IMPLAUSIBLE", "ERROR", "total_energy",
                             f"{cdr.total_energy} kWh in {cdr.total_time} h is an average above "
                             f"{MAX_POWER_KW} kW: energy in Wh?"))
    elif cdr.total_time == 0 and cdr.total_energy > 0:
        found.append(Finding("ENERGY_WITHOUT_TIME", "ERROR", "total_time",
                             "energy was delivered in zero time"))
    total = cdr.total_cost
    if total.excl_vat < 0 and not cdr.credit:
        found.append(Finding("NEGATIVE_COST", "ERROR", "total_cost",
                             "a negative total_cost on a CDR that is not a credit CDR"))
    if total.incl_vat is not None:
        if abs(total.incl_vat) < abs(total.excl_vat):
            found.append(Finding("VAT_NEGATIVE", "ERROR", "total_cost",
                                 f"incl_vat {total.incl_vat} is below excl_vat {total.excl_vat}"))
        elif total.excl_vat and \
                (total.incl_vat / total.excl_vat - 1) * 100 > MAX_VAT_PERCENT + 1:
            found.append(Finding("VAT_IMPLAUSIBLE", "WARNING", "total_cost",
                                 f"incl_vat {total.incl_vat} implies more than "
                                 f"{MAX_VAT_PERCENT} % VAT on {total.excl_vat}"))
    parts = [cdr.total_fixed_cost, cdr.total_energy_cost, cdr.total_time_cost,
             cdr.total_parking_cost, cdr.total_reservation_cost]
    given = [p.excl_vat for p in parts if p is not None]
    # mod_cdrs, CDR object: total_cost "includes" the others; with every part given they
    # must add up (min/max price adjustments make the sum differ only when clamped).
    if given and sum(given, Decimal(0)) - total.excl_vat > COST_TOLERANCE:
        found.append(Finding("COST_PARTS_EXCEED_TOTAL", "WARNING", "total_cost",
                             f"the cost parts add up to {sum(given, Decimal(0))}, more than "
                             f"total_cost {total.excl_vat}"))
    energy = sum((d.volume for p in cdr.charging_periods for d in p.dimensions
                  if d.type == "ENERGY"), Decimal(0))
    has_energy = any(d.type == "ENERGY" for p in cdr.charging_periods for d in p.dimensions)
    if has_energy and abs(energy - cdr.total_energy) > ENERGY_TOLERANCE:
        found.append(Finding("PERIODS_ENERGY_MISMATCH", "WARNING", "charging_periods",
                             f"ENERGY in charging_periods adds up to {energy} kWh, "
                             f"total_energy is {cdr.total_energy} kWh"))
    for i, period in enumerate(cdr.charging_periods):
        if not (cdr.start_date_time <= period.start_date_time <= cdr.end_date_time):
            found.append(Finding("PERIOD_OUTSIDE_SESSION", "ERROR",
                                 f"charging_periods[{i}].start_date_time",
                                 "a charging period starts outside the CDR's time span"))
    if cdr.credit and not cdr.credit_reference_id:
        found.append(Finding("CREDIT_WITHOUT_REFERENCE", "ERROR", "credit_reference_id",
                             "mod_cdrs: credit_reference_id is required when credit is true"))
    loc = cdr.cdr_location
    found += _geo("cdr_location.coordinates", loc.coordinates.latitude, loc.coordinates.longitude)
    return found


async def record_findings(session: AsyncSession, *, module: Module, object_key: str,
                          partner_id: int | None, findings: list[Finding], now: datetime
                          ) -> None:
    """Replaces the findings of one object (``CC*PID/id``) with the new check's."""
    await session.execute(delete(OcpiQualityFindingRow).where(
        OcpiQualityFindingRow.module == module,
        OcpiQualityFindingRow.object_key == object_key))
    session.add_all(OcpiQualityFindingRow(
        module=module, object_key=object_key, partner_id=partner_id, code=f.code,
        severity=f.severity, path=f.path[:128], message=f.message[:512], detected_at=now)
        for f in findings)


def object_key(country_code: str, party_id: str, object_id: str) -> str:
    return f"{country_code.upper()}*{party_id.upper()}/{object_id}"


# --- admin API ---------------------------------------------------------------------------

router = APIRouter(prefix="/ocpi", dependencies=[Depends(require_admin)], tags=["admin"])
Ctx = Annotated[HubContext, Depends(hub_context)]


@router.get("/quality")
async def findings(ctx: Ctx, module: Module | None = None, partner_id: int | None = None,
                   severity: Severity | None = None, code: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    """Current findings, newest first, and counts per partner, module, severity and code."""
    where = []
    if module:
        where.append(OcpiQualityFindingRow.module == module)
    if partner_id is not None:
        where.append(OcpiQualityFindingRow.partner_id == partner_id)
    if severity:
        where.append(OcpiQualityFindingRow.severity == severity)
    if code:
        where.append(OcpiQualityFindingRow.code == code.upper())
    t = OcpiQualityFindingRow
    async with ctx.sessionmaker() as session:
        rows = (await session.scalars(select(t).where(*where)
                                      .order_by(t.detected_at.desc(), t.id).limit(limit))).all()
        counts = (await session.execute(
            select(t.partner_id, t.module, t.severity, t.code, func.count())
            .where(*where).group_by(t.partner_id, t.module, t.severity, t.code)
            .order_by(t.partner_id, t.module, t.code))).all()
    return {
        "findings": [{"module": r.module, "object": r.object_key, "partner_id": r.partner_id,
                      "code": r.code, "severity": r.severity, "path": r.path,
                      "message": r.message, "detected_at": r.detected_at.isoformat()}
                     for r in rows],
        "counts": [{"partner_id": p, "module": m, "severity": s, "code": c, "count": n}
                   for p, m, s, c, n in counts],
    }
