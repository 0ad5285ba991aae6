"""Sessions module, Receiver interface (OCPI 2.2.1 mod_sessions): partner CPOs' sessions of
our eMSP's drivers, at ``/ocpi/emsp/2.2.1/sessions/{country_code}/{party_id}/{session_id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from hub.db.base import transaction
from hub.domain import PartyRef
from hub.services.records import upsert_received_session
from ocpi import schemas
from ocpi.auth import Ctx, PartnerCaller
from ocpi.encoding import jsonable
from ocpi.errors import GENERIC_CLIENT_ERROR, INVALID_PARAMETERS, OcpiError, OcpiRoute
from ocpi.mappers import session_to_domain
from ocpi.parsing import json_body, parse_body
from ocpi.response import ocpi_response
from ocpi.store import received_session_raw
from ocpi.urls import EMSP_PREFIX
from ocpi.validation import check_same, owner_party

PATH = f"{EMSP_PREFIX}/sessions"
OBJECT = PATH + "/{country_code}/{party_id}/{session_id}"
router = APIRouter(route_class=OcpiRoute)


def _unknown(session_id: str) -> OcpiError:
    return OcpiError(GENERIC_CLIENT_ERROR, f"unknown session {session_id}", 404)


async def _raw(ctx: Ctx, cpo: PartyRef, session_id: str) -> dict[str, Any] | None:
    async with transaction(ctx.sessionmaker) as session:
        return await received_session_raw(session, cpo, session_id)


async def _save(ctx: Ctx, caller_partner: int, s: schemas.Session) -> None:
    raw = jsonable(s.model_dump(exclude_none=True))
    async with transaction(ctx.sessionmaker) as session:
        await upsert_received_session(session, session_to_domain(s), partner_id=caller_partner,
                                      raw=raw, now=ctx.clock())


def _check_identity(s: schemas.Session, cpo: PartyRef, session_id: str) -> None:
    check_same("country_code", s.country_code, cpo.country_code)
    check_same("party_id", s.party_id, cpo.party_id)
    check_same("id", s.id, session_id)


@router.get(OBJECT)
async def get_session(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
                      session_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    raw = await _raw(ctx, cpo, session_id)
    if raw is None:
        raise _unknown(session_id)
    return ocpi_response(schemas.Session.model_validate(raw).model_dump(exclude_none=True))


@router.put(OBJECT)
async def put_session(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                      party_id: str, session_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    s, _ = await parse_body(request, schemas.Session)
    _check_identity(s, cpo, session_id)
    existed = await _raw(ctx, cpo, session_id) is not None
    # mod_sessions (PUT): the new object replaces the old one, charging_periods included.
    await _save(ctx, caller.partner_id, s)
    return ocpi_response(http_status=200 if existed else 201)


@router.patch(OBJECT)
async def patch_session(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                        party_id: str, session_id: str) -> Response:
    cpo = await owner_party(ctx, caller, country_code, party_id, "CPO")
    patch = await json_body(request)
    if not isinstance(patch, dict) or "last_updated" not in patch:
        raise OcpiError(INVALID_PARAMETERS, "a PATCH must contain last_updated")
    raw = await _raw(ctx, cpo, session_id)
    if raw is None:
        raise _unknown(session_id)
    # mod_sessions (PATCH): charging_periods in a PATCH are added to the existing ones.
    periods = list(raw.get("charging_periods") or []) + list(patch.get("charging_periods") or [])
    s = schemas.Session.model_validate({**raw, **patch, "charging_periods": periods})
    _check_identity(s, cpo, session_id)
    await _save(ctx, caller.partner_id, s)
    return ocpi_response()
