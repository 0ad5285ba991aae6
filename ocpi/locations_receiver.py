"""Locations module, Receiver interface (OCPI 2.2.1 mod_locations, Receiver Interface):
partner CPOs push their Locations, EVSEs and Connectors to our eMSP at
``/ocpi/emsp/2.2.1/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}
[/{connector_id}]]`` (PUT, PATCH, GET).

- PUT replaces or adds the object; PATCH merges the fields given and SHALL contain
  ``last_updated`` (else 2001). A PUT/PATCH of an EVSE or Connector also sets the new
  ``last_updated`` on its parents (mod_locations, PUT and PATCH Method).
- The ids in the URL must equal those in the body (2001 otherwise); an unknown Location, EVSE
  or Connector is HTTP 404 with 2003 (status_codes).
- Every change is validated as a whole Location before anything is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from hub.db.base import transaction
from hub.domain import PartyRef
from ocpi import quality
from ocpi.auth import Ctx, PartnerCaller
from ocpi.errors import INVALID_PARAMETERS, UNKNOWN_LOCATION, OcpiError, OcpiRoute
from ocpi.object_store import partner_location, save_partner_location
from ocpi.parsing import json_body
from ocpi.response import ocpi_response
from ocpi.schemas_objects import Connector, Evse, Location
from ocpi.urls import EMSP_PREFIX
from ocpi.validation import check_same, owner_party

PATH = f"{EMSP_PREFIX}/locations"
LOCATION = PATH + "/{country_code}/{party_id}/{location_id}"
EVSE = LOCATION + "/{evse_uid}"
CONNECTOR = EVSE + "/{connector_id}"
router = APIRouter(route_class=OcpiRoute)

Json = dict[str, Any]


def _unknown(what: str) -> OcpiError:
    return OcpiError(UNKNOWN_LOCATION, f"unknown {what}", 404)


def _index(items: list[Json], key: str, value: str) -> int | None:
    # types (CiString): ids compare case-insensitively.
    return next((i for i, item in enumerate(items)
                 if str(item.get(key, "")).upper() == value.upper()), None)


async def _load(ctx: Ctx, cpo: PartyRef, location_id: str) -> Json | None:
    async with transaction(ctx.sessionmaker) as session:
        return await partner_location(session, cpo, location_id)


def _merge(current: Json | None, body: Json, patch: bool, what: str) -> Json:
    if not patch:
        return body
    if current is None:
        raise _unknown(what)
    return {**current, **body}


def _location_level(current: Json | None, body: Json, patch: bool, cpo: PartyRef,
                    location_id: str) -> Location:
    loc = Location.model_validate(_merge(current, body, patch, f"location {location_id}"))
    check_same("country_code", loc.country_code, cpo.country_code)
    check_same("party_id", loc.party_id, cpo.party_id)
    check_same("id", loc.id, location_id)
    return loc


def _evse_level(current: Json, body: Json, patch: bool, evse_uid: str,
                connector_id: str | None) -> Location:
    evses = list(current.get("evses") or [])
    i = _index(evses, "uid", evse_uid)
    if connector_id is None:
        evse = Evse.model_validate(_merge(evses[i] if i is not None else None, body, patch,
                                          f"EVSE {evse_uid}"))
        check_same("uid", evse.uid, evse_uid)
        new_evse: Json = evse.model_dump(exclude_none=True)
        stamp = evse.last_updated
    else:
        if i is None:
            raise _unknown(f"EVSE {evse_uid}")
        connectors = list(evses[i].get("connectors") or [])
        j = _index(connectors, "id", connector_id)
        conn = Connector.model_validate(_merge(connectors[j] if j is not None else None, body,
                                               patch, f"connector {evse_uid}/{connector_id}"))
        check_same("id", conn.id, connector_id)
        if j is None:
            connectors.append(conn.model_dump(exclude_none=True))
        else:
            connectors[j] = conn.model_dump(exclude_none=True)
        stamp = conn.last_updated
        new_evse = {**evses[i], "connectors": connectors, "last_updated": stamp}
    if i is None:
        evses.append(new_evse)
    else:
        evses[i] = new_evse
    return Location.model_validate({**current, "evses": evses, "last_updated": stamp})


async def _push(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                party_id: str, location_id: str, evse_uid: str | None = None,
                connector_id: str | None = None, *, patch: bool) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    body = await json_body(request)
    if not isinstance(body, dict):
        raise OcpiError(INVALID_PARAMETERS, "expected a JSON object")
    if patch and "last_updated" not in body:
        # mod_locations (PATCH): "Any request to the PATCH method SHALL contain last_updated".
        raise OcpiError(INVALID_PARAMETERS, "last_updated: a PATCH must contain last_updated")
    current = await _load(ctx, cpo, location_id)
    if evse_uid is None:
        loc = _location_level(current, body, patch, cpo, location_id)
    elif current is None:
        raise _unknown(f"location {location_id}")
    else:
        loc = _evse_level(current, body, patch, evse_uid, connector_id)
    async with transaction(ctx.sessionmaker) as session:
        created = await save_partner_location(session, cpo, loc.model_dump(exclude_none=True),
                                              loc.last_updated, caller.partner_id)
        await quality.record_findings(
            session, module="locations", partner_id=caller.partner_id,
            object_key=quality.object_key(cpo.country_code, cpo.party_id, location_id),
            findings=quality.check_location(loc, ctx.clock()), now=ctx.clock())
    return ocpi_response(http_status=201 if created else 200)


@router.put(LOCATION)
async def put_location(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                       party_id: str, location_id: str) -> Response:
    return await _push(request, ctx, caller, country_code, party_id, location_id, patch=False)


@router.put(EVSE)
async def put_evse(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                   party_id: str, location_id: str, evse_uid: str) -> Response:
    return await _push(request, ctx, caller, country_code, party_id, location_id, evse_uid,
                       patch=False)


@router.put(CONNECTOR)
async def put_connector(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                        party_id: str, location_id: str, evse_uid: str, connector_id: str
                        ) -> Response:
    return await _push(request, ctx, caller, country_code, party_id, location_id, evse_uid,
                       connector_id, patch=False)


@router.patch(LOCATION)
async def patch_location(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                         party_id: str, location_id: str) -> Response:
    return await _push(request, ctx, caller, country_code, party_id, location_id, patch=True)


@router.patch(EVSE)
async def patch_evse(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                     party_id: str, location_id: str, evse_uid: str) -> Response:
    return await _push(request, ctx, caller, country_code, party_id, location_id, evse_uid,
                       patch=True)


@router.patch(CONNECTOR)
async def patch_connector(request: Request, ctx: Ctx, caller: PartnerCaller,
                          country_code: str, party_id: str, location_id: str, evse_uid: str,
                          connector_id: str) -> Response:
    return await _push(request, ctx, caller, country_code, party_id, location_id, evse_uid,
                       connector_id, patch=True)


async def _get(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
               location_id: str, evse_uid: str | None = None,
               connector_id: str | None = None) -> Json:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    loc = await _load(ctx, cpo, location_id)
    if loc is None:
        raise _unknown(f"location {location_id}")
    if evse_uid is None:
        return loc
    evses = list(loc.get("evses") or [])
    i = _index(evses, "uid", evse_uid)
    if i is None:
        raise _unknown(f"EVSE {evse_uid}")
    if connector_id is None:
        return dict(evses[i])
    connectors = list(evses[i].get("connectors") or [])
    j = _index(connectors, "id", connector_id)
    if j is None:
        raise _unknown(f"connector {evse_uid}/{connector_id}")
    return dict(connectors[j])


@router.get(LOCATION)
async def get_location(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
                       location_id: str) -> Response:
    return ocpi_response(await _get(ctx, caller, country_code, party_id, location_id))


@router.get(EVSE)
async def get_evse(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
                   location_id: str, evse_uid: str) -> Response:
    return ocpi_response(await _get(ctx, caller, country_code, party_id, location_id,
                                    evse_uid))


@router.get(CONNECTOR)
async def get_connector(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
                        location_id: str, evse_uid: str, connector_id: str) -> Response:
    return ocpi_response(await _get(ctx, caller, country_code, party_id, location_id,
                                    evse_uid, connector_id))
