"""Credentials handshake (OCPI 2.2.1 credentials), both directions.

- We are the Receiver (:func:`accept_registration`): we issued token A out of band; the partner
  POSTs its credentials (token B, versions URL, roles) with A. We fetch their versions and
  2.2.1 details with B, store the endpoints and their parties, and answer with token C.
- We are the Sender (:func:`register_with_partner`): they gave us their versions URL and a
  token A. We fetch their versions and details with A, store our new token B (hashed), POST
  our credentials with A and keep their token C for every later call.

Tokens we accept are stored as SHA-256 hashes only (``token_in_hash``); the token we present
(``token_out``) is the one secret kept in clear. No database transaction stays open across an
HTTP call: the peer calls us back during the exchange.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.domain import Conflict, InvalidInput, PartnerUnavailable, PartyRef
from hub.security import new_token, token_hash
from hub.services.parties import find_party, upsert_partner_party
from hub.services.partners import get_partner
from hub.settings import Settings
from ocpi import schemas
from ocpi.auth import CONNECTED, Caller
from ocpi.client import OcpiUnreachable, ocpi_request, request_with_token_fallback
from ocpi.errors import (
    CLIENT_API_UNUSABLE,
    INVALID_PARAMETERS,
    NO_MATCHING_ENDPOINTS,
    UNSUPPORTED_VERSION,
    OcpiError,
    method_not_allowed,
)
from ocpi.urls import VERSION, our_endpoints, versions_url

log = structlog.get_logger("ocpi.handshake")

UNREGISTERED = "SUSPENDED"  # after DELETE: no token either way, no automated communication
_VERSIONS = TypeAdapter(list[schemas.Version])


def our_credentials(settings: Settings, token: str) -> dict[str, Any]:
    """credentials (Credentials object): our token for them, our versions URL, our roles."""
    return {
        "token": token,
        "url": versions_url(settings),
        "roles": [{"role": p.role, "business_details": {"name": p.name},
                   "party_id": p.party_id, "country_code": p.country_code}
                  for p in settings.parties],
    }


async def fetch_endpoints(
    ctx: HubContext, url: str, token: str, prefer_base64: bool
) -> tuple[list[dict[str, Any]], bool]:
    """GET their versions, pick 2.2.1, GET its details. Errors are 3001 / 3002 (status_codes)."""
    timeout = ctx.settings.ocpi.request_timeout
    try:
        reply, use_base64 = await request_with_token_fallback(
            ctx.http, "GET", url, token=token, prefer_base64=prefer_base64, timeout_s=timeout)
        if not reply.ok:
            raise OcpiError(CLIENT_API_UNUSABLE, f"GET versions: HTTP {reply.http_status}, "
                            f"status {reply.status_code}")
        versions = _VERSIONS.validate_python(reply.data)
        chosen = next((v for v in versions if v.version == VERSION), None)
        if chosen is None:
            raise OcpiError(UNSUPPORTED_VERSION, f"no common version: we speak {VERSION}")
        reply = await ocpi_request(ctx.http, "GET", chosen.url, token=token,
                                   use_base64=use_base64, timeout_s=timeout)
        if not reply.ok:
            raise OcpiError(CLIENT_API_UNUSABLE, f"GET version details: HTTP "
                            f"{reply.http_status}, status {reply.status_code}")
        details = schemas.VersionDetails.model_validate(reply.data)
    except OcpiUnreachable as exc:
        raise OcpiError(CLIENT_API_UNUSABLE, f"cannot reach the versions endpoint: {exc}") \
            from exc
    except ValidationError as exc:
        raise OcpiError(CLIENT_API_UNUSABLE, "unreadable versions or details") from exc
    if details.version != VERSION:
        raise OcpiError(UNSUPPORTED_VERSION, f"details are for {details.version}")
    return [e.model_dump() for e in details.endpoints], use_base64


def check_mutual_modules(settings: Settings, endpoints: list[dict[str, Any]]) -> None:
    """credentials (Required endpoints not available): 3003 without a module in common."""
    ours = {e["identifier"] for e in our_endpoints(settings)} - {"credentials"}
    theirs = {e["identifier"] for e in endpoints}
    if "credentials" not in theirs or not ours & theirs:
        raise OcpiError(NO_MATCHING_ENDPOINTS, "no module in common (or no credentials "
                        "endpoint) between our platforms")


async def _store_partner(
    session: AsyncSession, row: PartnerRow, creds: schemas.Credentials,
    endpoints: list[dict[str, Any]], use_base64: bool, token_in: str | None,
) -> None:
    for role in creds.roles:
        own = await find_party(session, role.country_code, role.party_id, role.role)
        if own is not None and own.is_own:
            raise OcpiError(INVALID_PARAMETERS, f"party {role.country_code}*{role.party_id} "
                            f"{role.role} is one of ours")
    row.versions_url, row.version, row.endpoints = creds.url, VERSION, endpoints
    row.token_out, row.token_out_base64 = creds.token, use_base64
    if token_in is not None:
        row.token_in_hash = token_hash(token_in)
    row.status = CONNECTED
    row.name = creds.roles[0].business_details.name
    for role in creds.roles:
        await upsert_partner_party(session, PartyRef(role.country_code, role.party_id,
                                                     role.role),
                                   row.id, role.business_details.name)
    await session.refresh(row, attribute_names=["parties"])


async def accept_registration(ctx: HubContext, caller: Caller, creds: schemas.Credentials
                              ) -> dict[str, Any]:
    """POST credentials: the partner registers with the token A we issued."""
    if caller.kind != "A":
        raise method_not_allowed("already registered: use PUT to update the credentials")
    endpoints, use_base64 = await fetch_endpoints(ctx, creds.url, creds.token,
                                                  ctx.settings.ocpi.send_base64_tokens)
    check_mutual_modules(ctx.settings, endpoints)
    token_c = new_token()
    async with transaction(ctx.sessionmaker) as session:
        row = await get_partner(session, caller.partner_id)
        if row.token_a_hash is None:
            raise method_not_allowed("already registered: use PUT to update the credentials")
        await _store_partner(session, row, creds, endpoints, use_base64, token_c)
        row.token_a_hash = None  # credentials (Registration): token A may no longer be used
    log.info("ocpi.partner.registered", partner_id=caller.partner_id, direction="inbound")
    return our_credentials(ctx.settings, token_c)


async def update_registration(ctx: HubContext, caller: Caller, creds: schemas.Credentials
                              ) -> dict[str, Any]:
    """PUT credentials: new token B and/or endpoints; we fetch again and issue a new C."""
    if not caller.registered:
        raise method_not_allowed("not registered: POST the credentials first")
    endpoints, use_base64 = await fetch_endpoints(ctx, creds.url, creds.token,
                                                  ctx.settings.ocpi.send_base64_tokens)
    check_mutual_modules(ctx.settings, endpoints)
    token_c = new_token()
    async with transaction(ctx.sessionmaker) as session:
        row = await get_partner(session, caller.partner_id)
        if row.status != CONNECTED:
            raise method_not_allowed("not registered: POST the credentials first")
        await _store_partner(session, row, creds, endpoints, use_base64, token_c)
    log.info("ocpi.partner.credentials_updated", partner_id=caller.partner_id)
    return our_credentials(ctx.settings, token_c)


async def unregister(ctx: HubContext, caller: Caller) -> None:
    """DELETE credentials: both sides stop all automated communication."""
    if not caller.registered:
        raise method_not_allowed("not registered")
    async with transaction(ctx.sessionmaker) as session:
        row = await get_partner(session, caller.partner_id)
        row.status, row.token_in_hash, row.token_out = UNREGISTERED, None, None
    log.info("ocpi.partner.unregistered", partner_id=caller.partner_id)


def _domain_error(exc: OcpiError) -> Exception:
    if exc.status_code == CLIENT_API_UNUSABLE:
        return PartnerUnavailable(exc.message)
    return InvalidInput(exc.message)


async def _connected_row(session: AsyncSession, url: str) -> PartnerRow | None:
    return (await session.scalars(select(PartnerRow).where(
        PartnerRow.versions_url == url, PartnerRow.status == CONNECTED))).first()


async def _refuse_if_connected(ctx: HubContext, url: str) -> None:
    async with transaction(ctx.sessionmaker) as session:
        if await _connected_row(session, url) is not None:
            raise Conflict(f"already registered with {url}; update the credentials instead")


async def _planned_row(ctx: HubContext, url: str, token_b: str, endpoints: list[dict[str, Any]],
                       use_base64: bool) -> int:
    async with transaction(ctx.sessionmaker) as session:
        if await _connected_row(session, url) is not None:
            raise Conflict(f"already registered with {url}; update the credentials instead")
        row = (await session.scalars(select(PartnerRow).where(
            PartnerRow.versions_url == url, PartnerRow.status != UNREGISTERED)
            .order_by(PartnerRow.id))).first()
        if row is None:
            row = PartnerRow(name=url, status="PLANNED", versions_url=url)
            session.add(row)
        row.version, row.endpoints, row.token_out_base64 = VERSION, endpoints, use_base64
        row.token_in_hash = token_hash(token_b)  # they call us back with B during the POST
        await session.flush()
        return row.id


async def register_with_partner(ctx: HubContext, versions_url: str, token_a: str) -> PartnerRow:
    """We are the credentials Sender. Raises hub.domain errors: PartnerUnavailable (can't reach
    or use their API), InvalidInput (no 2.2.1, no common module, refused), Conflict (already
    registered)."""
    await _refuse_if_connected(ctx, versions_url)
    try:
        endpoints, use_base64 = await fetch_endpoints(
            ctx, versions_url, token_a, ctx.settings.ocpi.send_base64_tokens)
        check_mutual_modules(ctx.settings, endpoints)
    except OcpiError as exc:
        raise _domain_error(exc) from exc
    credentials_url = next(e["url"] for e in endpoints if e["identifier"] == "credentials")
    token_b = new_token()
    partner_id = await _planned_row(ctx, versions_url, token_b, endpoints, use_base64)
    try:
        creds = await _post_credentials(ctx, credentials_url, token_a, use_base64, token_b)
        async with transaction(ctx.sessionmaker) as session:
            row = await get_partner(session, partner_id)
            await _store_partner(session, row, creds, endpoints, use_base64, None)
    except Exception as exc:
        async with transaction(ctx.sessionmaker) as session:
            (await get_partner(session, partner_id)).token_in_hash = None  # B is dead
        if isinstance(exc, OcpiError):
            raise _domain_error(exc) from exc
        raise
    log.info("ocpi.partner.registered", partner_id=partner_id, direction="outbound")
    return row


async def _post_credentials(ctx: HubContext, url: str, token_a: str, use_base64: bool,
                            token_b: str) -> schemas.Credentials:
    try:
        reply = await ocpi_request(ctx.http, "POST", url, token=token_a, use_base64=use_base64,
                                   body=our_credentials(ctx.settings, token_b),
                                   timeout_s=ctx.settings.ocpi.request_timeout)
    except OcpiUnreachable as exc:
        raise PartnerUnavailable(str(exc)) from exc
    if reply.http_status == 405:
        raise Conflict("the partner says we are already registered")
    if not reply.ok:
        message = f"credentials POST refused: HTTP {reply.http_status}, " \
                  f"status {reply.status_code} {reply.message or ''}".strip()
        if reply.http_status >= 500 or (reply.status_code or 0) >= 3000:
            raise PartnerUnavailable(message)
        raise InvalidInput(message)
    try:
        return schemas.Credentials.model_validate(reply.data)
    except ValidationError as exc:
        raise InvalidInput("the partner answered unreadable credentials") from exc
