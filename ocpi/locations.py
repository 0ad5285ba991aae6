"""Locations module, Sender interface (OCPI 2.2.1 mod_locations): our own published locations."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hub.db.base import transaction
from hub.domain import Location, NotFound
from hub.services.network import get_location, page_locations
from ocpi.auth import Ctx, PartnerCaller
from ocpi.errors import UNKNOWN_LOCATION, OcpiError, OcpiRoute
from ocpi.mappers import connector_from_domain, evse_from_domain, location_from_domain
from ocpi.parsing import PageParams
from ocpi.response import ocpi_response
from ocpi.urls import CPO_PREFIX, ocpi_url

PATH = f"{CPO_PREFIX}/locations"
router = APIRouter(route_class=OcpiRoute)


@router.get(PATH)
async def list_locations(ctx: Ctx, caller: PartnerCaller, page: PageParams) -> Response:
    limit = page.bounded_limit(ctx.settings)
    async with transaction(ctx.sessionmaker) as session:
        locations, total = await page_locations(
            session, date_from=page.date_from, date_to=page.date_to, offset=page.offset,
            limit=limit)
    return ocpi_response([location_from_domain(loc) for loc in locations],
                         headers=page.headers(ocpi_url(ctx.settings, PATH), total, limit))


async def _location(ctx: Ctx, location_id: str) -> Location:
    async with transaction(ctx.sessionmaker) as session:
        try:
            return await get_location(session, location_id)
        except NotFound as exc:
            # status_codes: a GET of a missing resource is HTTP 404; 2003 = unknown Location.
            raise OcpiError(UNKNOWN_LOCATION, exc.message, 404) from exc


@router.get(PATH + "/{location_id}")
async def get_one_location(ctx: Ctx, caller: PartnerCaller, location_id: str) -> Response:
    return ocpi_response(location_from_domain(await _location(ctx, location_id)))


@router.get(PATH + "/{location_id}/{evse_uid}")
async def get_evse(ctx: Ctx, caller: PartnerCaller, location_id: str, evse_uid: str
                   ) -> Response:
    location = await _location(ctx, location_id)
    evse = next((e for e in location.evses if e.uid == evse_uid), None)
    if evse is None:
        raise OcpiError(UNKNOWN_LOCATION, f"unknown EVSE {evse_uid}", 404)
    return ocpi_response(evse_from_domain(evse))


@router.get(PATH + "/{location_id}/{evse_uid}/{connector_id}")
async def get_connector(ctx: Ctx, caller: PartnerCaller, location_id: str, evse_uid: str,
                        connector_id: str) -> Response:
    location = await _location(ctx, location_id)
    evse = next((e for e in location.evses if e.uid == evse_uid), None)
    connector = next((c for c in evse.connectors if c.id == connector_id), None) \
        if evse is not None else None
    if connector is None:
        raise OcpiError(UNKNOWN_LOCATION, f"unknown connector {evse_uid}/{connector_id}", 404)
    return ocpi_response(connector_from_domain(connector))
