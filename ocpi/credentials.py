"""Credentials module endpoints (OCPI 2.2.1 credentials): GET, POST, PUT, DELETE."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ocpi import handshake, schemas
from ocpi.auth import Ctx, RegistrationCaller
from ocpi.errors import OcpiRoute, method_not_allowed
from ocpi.parsing import parse_body
from ocpi.response import ocpi_response
from ocpi.urls import CREDENTIALS_PATH

router = APIRouter(route_class=OcpiRoute)


@router.get(CREDENTIALS_PATH)
async def get_credentials(ctx: Ctx, caller: RegistrationCaller) -> Response:
    # We keep only a hash of the token we accept: the caller's own (just verified) token is
    # the one that "accesses the server's platform".
    return ocpi_response(handshake.our_credentials(ctx.settings, caller.token))


@router.post(CREDENTIALS_PATH)
async def post_credentials(request: Request, ctx: Ctx, caller: RegistrationCaller) -> Response:
    if caller.kind != "A":
        raise method_not_allowed("already registered: use PUT")
    creds, _ = await parse_body(request, schemas.Credentials)
    return ocpi_response(await handshake.accept_registration(ctx, caller, creds))


@router.put(CREDENTIALS_PATH)
async def put_credentials(request: Request, ctx: Ctx, caller: RegistrationCaller) -> Response:
    if not caller.registered:
        raise method_not_allowed("not registered: POST the credentials first")
    creds, _ = await parse_body(request, schemas.Credentials)
    return ocpi_response(await handshake.update_registration(ctx, caller, creds))


@router.delete(CREDENTIALS_PATH)
async def delete_credentials(ctx: Ctx, caller: RegistrationCaller) -> Response:
    await handshake.unregister(ctx, caller)
    return ocpi_response()
