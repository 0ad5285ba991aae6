"""Versions module (OCPI 2.2.1 version_information_endpoint): versions list and details."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ocpi.auth import Ctx, RegistrationCaller
from ocpi.errors import OcpiRoute
from ocpi.response import ocpi_response
from ocpi.urls import (
    DETAILS_PATH,
    VERSION,
    VERSIONS_PATH,
    ocpi_url,
    our_endpoints,
)

router = APIRouter(route_class=OcpiRoute)


@router.get(VERSIONS_PATH)
async def get_versions(ctx: Ctx, caller: RegistrationCaller) -> Response:
    data: list[dict[str, Any]] = [
        {"version": VERSION, "url": ocpi_url(ctx.settings, DETAILS_PATH)}]
    return ocpi_response(data)


@router.get(DETAILS_PATH)
async def get_version_details(ctx: Ctx, caller: RegistrationCaller) -> Response:
    endpoints = our_endpoints(ctx.settings)
    return ocpi_response({"version": VERSION, "endpoints": endpoints})
