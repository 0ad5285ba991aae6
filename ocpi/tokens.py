"""Tokens module (OCPI 2.2.1 mod_tokens).

Receiver interface (our CPO role): partner eMSPs push their tokens to
``/ocpi/cpo/2.2.1/tokens/{country_code}/{party_id}/{uid}[?type=]``.
Sender interface (our eMSP role): ``GET /ocpi/emsp/2.2.1/tokens`` lists our own tokens and
``POST /ocpi/emsp/2.2.1/tokens/{uid}/authorize[?type=]`` is real-time authorization.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hub.db.base import transaction
from hub.domain import PartyRef, TokenInfo
from hub.services.tokens import authorize_own_token, get_token, list_own_tokens, upsert_token
from ocpi import schemas
from ocpi.auth import Ctx, PartnerCaller
from ocpi.errors import INVALID_PARAMETERS, UNKNOWN_TOKEN, OcpiError, OcpiRoute
from ocpi.mappers import authorization_from_domain, token_from_domain, token_to_domain
from ocpi.parsing import PageParams, json_body, parse_body
from ocpi.response import ocpi_response
from ocpi.urls import CPO_PREFIX, EMSP_PREFIX, ocpi_url
from ocpi.validation import check_same, owner_party

RECEIVER_PATH = f"{CPO_PREFIX}/tokens"
SENDER_PATH = f"{EMSP_PREFIX}/tokens"
OBJECT = RECEIVER_PATH + "/{country_code}/{party_id}/{uid}"
TypeParam = Annotated[schemas.TokenType | None, Query()]

router = APIRouter(route_class=OcpiRoute)


def _unknown(uid: str) -> OcpiError:
    # mod_tokens: an unknown token is HTTP 404 with status 2004.
    return OcpiError(UNKNOWN_TOKEN, f"unknown token {uid}", 404)


async def _stored(ctx: Ctx, owner: PartyRef, uid: str, type_: str) -> TokenInfo | None:
    async with transaction(ctx.sessionmaker) as session:
        return await get_token(session, owner, uid, type_)


async def _save(ctx: Ctx, token: schemas.Token) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await upsert_token(session, token_to_domain(token), ctx.clock())


@router.get(OBJECT)
async def get_pushed_token(ctx: Ctx, caller: PartnerCaller, country_code: str, party_id: str,
                           uid: str, type: TypeParam = None) -> Response:
    owner = await owner_party(ctx, caller, country_code, party_id, "EMSP")
    token = await _stored(ctx, owner, uid, type or "RFID")
    if token is None:
        raise _unknown(uid)
    return ocpi_response(token_from_domain(token))


@router.put(OBJECT)
async def put_token(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                    party_id: str, uid: str, type: TypeParam = None) -> Response:
    owner = await owner_party(ctx, caller, country_code, party_id, "EMSP")
    token, _ = await parse_body(request, schemas.Token)
    _check_identity(token, owner, uid, type)
    existed = await _stored(ctx, owner, token.uid, token.type) is not None
    await _save(ctx, token)
    # status_codes: 201 for a new object, 200 for an update.
    return ocpi_response(http_status=200 if existed else 201)


@router.patch(OBJECT)
async def patch_token(request: Request, ctx: Ctx, caller: PartnerCaller, country_code: str,
                      party_id: str, uid: str, type: TypeParam = None) -> Response:
    owner = await owner_party(ctx, caller, country_code, party_id, "EMSP")
    patch = await json_body(request)
    if not isinstance(patch, dict) or "last_updated" not in patch:
        # mod_tokens (PATCH): "Any request to the PATCH method SHALL contain last_updated".
        raise OcpiError(INVALID_PARAMETERS, "a PATCH must contain last_updated")
    current = await _stored(ctx, owner, uid, type or "RFID")
    if current is None:
        raise _unknown(uid)
    merged = schemas.Token.model_validate({**token_from_domain(current), **patch})
    _check_identity(merged, owner, uid, type or "RFID")
    await _save(ctx, merged)
    return ocpi_response()


def _check_identity(token: schemas.Token, owner: PartyRef, uid: str, type_: str | None) -> None:
    # transport_and_format (Client Owned Object Push, Errors): URL and object must agree.
    check_same("country_code", token.country_code, owner.country_code)
    check_same("party_id", token.party_id, owner.party_id)
    check_same("uid", token.uid, uid)
    if type_ is not None:
        check_same("type", token.type, type_)


@router.get(SENDER_PATH)
async def list_tokens(ctx: Ctx, caller: PartnerCaller, page: PageParams) -> Response:
    limit = page.bounded_limit(ctx.settings)
    async with transaction(ctx.sessionmaker) as session:
        tokens = await list_own_tokens(session)
    floor = datetime.min.replace(tzinfo=UTC)
    matching = sorted(
        (t for t in tokens
         if (page.date_from is None or (t.last_updated or floor) >= page.date_from)
         and (page.date_to is None or (t.last_updated or floor) < page.date_to)),
        key=lambda t: t.last_updated or floor)
    chunk = matching[page.offset:page.offset + limit]
    return ocpi_response([token_from_domain(t) for t in chunk],
                         headers=page.headers(ocpi_url(ctx.settings, SENDER_PATH),
                                              len(matching), limit))


@router.post(SENDER_PATH + "/{uid}/authorize")
async def authorize(request: Request, ctx: Ctx, caller: PartnerCaller, uid: str,
                    type: TypeParam = None) -> Response:
    body: Any = await json_body(request)
    location = schemas.LocationReferences.model_validate(body) if body else None
    async with transaction(ctx.sessionmaker) as session:
        # mod_tokens (POST): type defaults to RFID when omitted.
        result = await authorize_own_token(session, uid, type or "RFID")
    if result is None or result.token is None:
        raise _unknown(uid)
    reference = str(uuid.uuid4()) if result.is_allowed else None
    return ocpi_response(authorization_from_domain(result, location, reference))
