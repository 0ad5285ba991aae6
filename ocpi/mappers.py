"""OCPI wire objects <-> domain values (``to_domain`` / ``from_domain``).

``from_domain`` functions return plain dicts with Decimals and datetimes; ``ocpi.encoding``
turns them into JSON numbers and UTC strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from hub.domain import (
    AllowedType,
    AuthorizationResult,
    Cdr,
    ChargingSession,
    Connector,
    Evse,
    Location,
    PartyRef,
    TokenInfo,
)
from hub.domain.countries import ALPHA2
from ocpi import schemas
from ocpi.encoding import jsonable


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _price(excl: Decimal | None, incl: Decimal | None) -> dict[str, Any] | None:
    if excl is None:
        return None
    return _drop_none({"excl_vat": excl, "incl_vat": incl})


# -- tokens ------------------------------------------------------------------------------------


def token_to_domain(t: schemas.Token) -> TokenInfo:
    return TokenInfo(
        owner=PartyRef(t.country_code, t.party_id, "EMSP"), uid=t.uid, type=t.type,
        contract_id=t.contract_id, issuer=t.issuer, valid=t.valid, whitelist=t.whitelist,
        visual_number=t.visual_number, group_id=t.group_id, language=t.language,
        last_updated=t.last_updated,
    )


def token_from_domain(t: TokenInfo) -> dict[str, Any]:
    return _drop_none({
        "country_code": t.owner.country_code, "party_id": t.owner.party_id, "uid": t.uid,
        "type": t.type, "contract_id": t.contract_id, "visual_number": t.visual_number,
        "issuer": t.issuer, "group_id": t.group_id, "valid": t.valid,
        "whitelist": t.whitelist, "language": t.language, "last_updated": t.last_updated,
    })


def authorization_from_domain(
    result: AuthorizationResult, location: schemas.LocationReferences | None,
    reference: str | None,
) -> dict[str, Any]:
    """mod_tokens AuthorizationInfo; ``location`` echoed only when charging is allowed."""
    assert result.token is not None
    return _drop_none({
        "allowed": result.allowed.value,
        "token": token_from_domain(result.token),
        "location": location.model_dump() if location and result.is_allowed else None,
        "authorization_reference": reference,
        "info": {"language": "en", "text": result.info} if result.info else None,
    })


def authorization_to_domain(info: schemas.AuthorizationInfo, fallback: TokenInfo
                            ) -> AuthorizationResult:
    return AuthorizationResult(
        allowed=AllowedType(info.allowed),
        token=token_to_domain(info.token) if info.token else fallback,
        authorization_reference=info.authorization_reference,
        info=info.info.text if info.info else None,
        source="realtime",
    )


# -- locations ---------------------------------------------------------------------------------


def connector_from_domain(c: Connector) -> dict[str, Any]:
    return _drop_none({
        "id": c.id, "standard": c.standard, "format": c.format, "power_type": c.power_type,
        "max_voltage": c.max_voltage, "max_amperage": c.max_amperage,
        "max_electric_power": c.max_electric_power, "tariff_ids": list(c.tariff_ids) or None,
        "last_updated": c.last_updated,
    })


def evse_from_domain(e: Evse) -> dict[str, Any]:
    return _drop_none({
        "uid": e.uid, "evse_id": e.evse_id, "status": e.status,
        "connectors": [connector_from_domain(c) for c in e.connectors],
        "last_updated": e.last_updated,
    })


def location_from_domain(loc: Location) -> dict[str, Any]:
    return _drop_none({
        "country_code": loc.owner.country_code, "party_id": loc.owner.party_id, "id": loc.id,
        "publish": loc.publish, "name": loc.name, "address": loc.address, "city": loc.city,
        "postal_code": loc.postal_code, "country": loc.country,
        "coordinates": {"latitude": loc.latitude, "longitude": loc.longitude},
        "evses": [evse_from_domain(e) for e in loc.evses],
        "time_zone": loc.time_zone, "last_updated": loc.last_updated,
    })


# -- sessions ----------------------------------------------------------------------------------


def _cdr_token(uid: str, type_: str, contract_id: str, owner: PartyRef | None,
               cpo: PartyRef) -> dict[str, Any]:
    who = owner or cpo
    return {"country_code": who.country_code, "party_id": who.party_id, "uid": uid,
            "type": type_, "contract_id": contract_id or uid}


def session_to_domain(s: schemas.Session) -> ChargingSession:
    return ChargingSession(
        cpo=PartyRef(s.country_code, s.party_id, "CPO"), id=s.id,
        start_date_time=s.start_date_time, end_date_time=s.end_date_time, kwh=s.kwh,
        token_uid=s.cdr_token.uid, token_type=s.cdr_token.type,
        contract_id=s.cdr_token.contract_id,
        token_owner=PartyRef(s.cdr_token.country_code, s.cdr_token.party_id, "EMSP"),
        auth_method=s.auth_method, authorization_reference=s.authorization_reference,
        location_id=s.location_id, evse_uid=s.evse_uid, connector_id=s.connector_id,
        currency=s.currency, status=s.status,
        total_cost_excl_vat=s.total_cost.excl_vat if s.total_cost else None,
        total_cost_incl_vat=s.total_cost.incl_vat if s.total_cost else None,
        last_updated=s.last_updated,
    )


def session_from_domain(s: ChargingSession) -> dict[str, Any]:
    # mod_sessions Session: location_id/evse_uid/connector_id are required; "#NA" is the
    # spec's value for "not available" (transport_and_format: No data available).
    return _drop_none({
        "country_code": s.cpo.country_code, "party_id": s.cpo.party_id, "id": s.id,
        "start_date_time": s.start_date_time, "end_date_time": s.end_date_time,
        "kwh": s.kwh,
        "cdr_token": _cdr_token(s.token_uid, s.token_type, s.contract_id, s.token_owner,
                                s.cpo),
        "auth_method": s.auth_method, "authorization_reference": s.authorization_reference,
        "location_id": s.location_id or "#NA", "evse_uid": s.evse_uid or "#NA",
        "connector_id": s.connector_id or "#NA", "currency": s.currency,
        "total_cost": _price(s.total_cost_excl_vat, s.total_cost_incl_vat),
        "status": s.status, "last_updated": s.last_updated,
    })


# -- CDRs --------------------------------------------------------------------------------------


def cdr_to_domain(c: schemas.Cdr) -> Cdr:
    return Cdr(
        cpo=PartyRef(c.country_code, c.party_id, "CPO"), id=c.id,
        start_date_time=c.start_date_time, end_date_time=c.end_date_time,
        session_id=c.session_id, token_uid=c.cdr_token.uid, token_type=c.cdr_token.type,
        contract_id=c.cdr_token.contract_id,
        token_owner=PartyRef(c.cdr_token.country_code, c.cdr_token.party_id, "EMSP"),
        auth_method=c.auth_method, authorization_reference=c.authorization_reference,
        location=jsonable(c.cdr_location.model_dump(exclude_none=True)),
        currency=c.currency, total_energy=c.total_energy, total_time=c.total_time,
        total_parking_time=c.total_parking_time, total_cost_excl_vat=c.total_cost.excl_vat,
        total_cost_incl_vat=c.total_cost.incl_vat,
        charging_periods=tuple(jsonable(p.model_dump(exclude_none=True))
                               for p in c.charging_periods),
        tariffs=tuple(jsonable(t) for t in c.tariffs), credit=bool(c.credit),
        credit_reference_id=c.credit_reference_id,
        vat_rate=uniform_vat(tuple(jsonable(t) for t in c.tariffs)),
        vat_country=ALPHA2.get(c.cdr_location.country),
        last_updated=c.last_updated,
    )


def _period_from_stored(p: dict[str, Any]) -> dict[str, Any]:
    start = p["start_date_time"]
    return _drop_none({
        "start_date_time": datetime.fromisoformat(start) if isinstance(start, str) else start,
        "dimensions": [{"type": d["type"], "volume": Decimal(str(d["volume"]))}
                       for d in p.get("dimensions", [])],
        "tariff_id": p.get("tariff_id"),
    })


def _is_full_tariff(t: dict[str, Any]) -> bool:
    return all(k in t for k in ("country_code", "party_id", "id", "currency", "elements",
                                "last_updated"))


_TARIFF_NUMBERS = {"price", "vat", "excl_vat", "incl_vat", "min_kwh", "max_kwh",
                   "min_current", "max_current", "min_power", "max_power"}


def _tariff_to_wire(value: Any, key: str = "") -> Any:
    """A stored tariff snapshot (Decimals kept as strings) back to OCPI numbers."""
    if isinstance(value, dict):
        return {k: _tariff_to_wire(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_tariff_to_wire(v, key) for v in value]
    if key in _TARIFF_NUMBERS and isinstance(value, str):
        return Decimal(value)
    return value


def uniform_vat(tariffs: tuple[dict[str, Any], ...]) -> Decimal | None:
    """The VAT rate of a CDR's tariffs when all their components agree on one
    (mod_tariffs PriceComponent.vat); OCPI CDRs carry no rate of their own."""
    rates = {
        str(pc["vat"])
        for t in tariffs for e in t.get("elements", []) for pc in e.get("price_components", [])
        if pc.get("vat") is not None
    }
    return Decimal(rates.pop()) if len(rates) == 1 else None


def cdr_from_domain(c: Cdr) -> dict[str, Any]:
    periods = [_period_from_stored(dict(p)) for p in c.charging_periods]
    if not periods:  # mod_cdrs CDR.charging_periods has cardinality "+"
        periods = [{"start_date_time": c.start_date_time,
                    "dimensions": [{"type": "ENERGY", "volume": c.total_energy},
                                   {"type": "TIME", "volume": c.total_time}]}]
    location = dict(c.location)
    return _drop_none({
        "country_code": c.cpo.country_code, "party_id": c.cpo.party_id, "id": c.id,
        "start_date_time": c.start_date_time, "end_date_time": c.end_date_time,
        "session_id": c.session_id,
        "cdr_token": _cdr_token(c.token_uid, c.token_type, c.contract_id, c.token_owner,
                                c.cpo),
        "auth_method": c.auth_method, "authorization_reference": c.authorization_reference,
        "cdr_location": location, "currency": c.currency,
        # Only complete Tariff objects may travel (mod_tariffs Tariff); our own CDRs keep a
        # snapshot of the tariff as applied, its components' vat set to the rate charged.
        "tariffs": [_tariff_to_wire(dict(t)) for t in c.tariffs
                    if _is_full_tariff(dict(t))] or None,
        "charging_periods": periods,
        "total_cost": _price(c.total_cost_excl_vat, c.total_cost_incl_vat),
        "total_energy": c.total_energy, "total_time": c.total_time,
        "total_parking_time": c.total_parking_time,
        "credit": True if c.credit else None,
        "credit_reference_id": c.credit_reference_id if c.credit else None,
        "last_updated": c.last_updated or c.end_date_time,
    })
