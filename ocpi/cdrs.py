"""CDRs module, Receiver interface (OCPI 2.2.1 mod_cdrs): partner CPOs' CDRs for our eMSP.

``POST /ocpi/emsp/2.2.1/cdrs`` stores a CDR once per (country_code, party_id, id): a repeat is
answered with success and creates nothing (CDRs are immutable). The ``Location`` header points
to ``/ocpi/emsp/2.2.1/cdrs/{country_code}/{party_id}/{id}`` (ids are unique per CPO only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hub.db.base import transaction
from hub.services.records import store_received_cdr
from ocpi import quality, schemas
from ocpi.auth import Ctx, PartnerCaller
from ocpi.encoding import jsonable
from ocpi.errors import GENERIC_CLIENT_ERROR, OcpiError, OcpiRoute
from ocpi.mappers import cdr_to_domain
from ocpi.parsing import parse_body
from ocpi.response import ocpi_response
from ocpi.store import received_cdr_raw
from ocpi.urls import EMSP_PREFIX, ocpi_url
from ocpi.validation import owner_party

PATH = f"{EMSP_PREFIX}/cdrs"
router = APIRouter(route_class=OcpiRoute)


@router.post(PATH)
async def post_cdr(request: Request, ctx: Ctx, caller: PartnerCaller) -> Response:
    cdr, _ = await parse_body(request, schemas.Cdr)
    cpo = await owner_party(ctx, caller, cdr.country_code, cdr.party_id, "CPO")
    raw = jsonable(cdr.model_dump(exclude_none=True))
    async with transaction(ctx.sessionmaker) as session:
        _, created = await store_received_cdr(session, cdr_to_domain(cdr),
                                              partner_id=caller.partner_id, raw=raw,
                                              now=ctx.clock())
        await quality.record_findings(
            session, module="cdrs", partner_id=caller.partner_id,
            object_key=quality.object_key(cpo.country_code, cpo.party_id, cdr.id),
            findings=quality.check_cdr(cdr, ctx.clock()), now=ctx.clock())
    location = ocpi_url(ctx.settings, f"{PATH}/{cpo.country_code}/{cpo.party_id}/{cdr.id}")
    # mod_cdrs (POST, Response Headers): Location of the stored CDR; 201 new, 200 repeat.
    return ocpi_response(http_status=201 if created else 200, headers={"Location": location})


@router.get(PATH + "/{country_code}/{party_id}/{cdr_id}")
async def get_cdr(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
                  cdr_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    async with transaction(ctx.sessionmaker) as session:
        raw = await received_cdr_raw(session, cpo, cdr_id)
    if raw is None:
        raise OcpiError(GENERIC_CLIENT_ERROR, f"unknown CDR {cdr_id}", 404)
    return ocpi_response(schemas.Cdr.model_validate(raw).model_dump(exclude_none=True))
