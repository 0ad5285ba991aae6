"""Sessions and CDRs modules, Sender interfaces of our CPO (OCPI 2.2.1 mod_sessions and
mod_cdrs, GET list): ``/ocpi/cpo/2.2.1/sessions`` and ``/ocpi/cpo/2.2.1/cdrs``.

Paginated like the locations Sender (transport_and_format, Paginated Response: ``Link``,
``X-Total-Count``, ``X-Limit``; date_from inclusive, date_to exclusive on last_updated). A
partner sees the sessions and CDRs of its own eMSP parties only (the tokens it issued); a
partner with the HUB role sees all of them.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from hub.db.base import transaction
from hub.domain import PartyRef
from hub.services.records import cdr_from_row, session_from_row
from ocpi.auth import Caller, Ctx, PartnerCaller
from ocpi.errors import OcpiRoute
from ocpi.mappers import cdr_from_domain, session_from_domain
from ocpi.object_store import Window, page_own_cdrs, page_own_sessions
from ocpi.parsing import Page, PageParams
from ocpi.response import ocpi_response
from ocpi.urls import CPO_PREFIX, ocpi_url

SESSIONS_PATH = f"{CPO_PREFIX}/sessions"
CDRS_PATH = f"{CPO_PREFIX}/cdrs"
router = APIRouter(route_class=OcpiRoute)


def _emsps(caller: Caller) -> tuple[PartyRef, ...] | None:
    if caller.is_hub:
        return None
    return tuple(p for p in caller.parties if p.role == "EMSP")


def _window(ctx: Ctx, page: Page) -> Window:
    return Window(page.date_from, page.date_to, page.offset, page.bounded_limit(ctx.settings))


@router.get(SESSIONS_PATH)
async def list_sessions(ctx: Ctx, caller: PartnerCaller, page: PageParams) -> Response:
    window = _window(ctx, page)
    async with transaction(ctx.sessionmaker) as session:
        rows, total = await page_own_sessions(session, window, _emsps(caller))
        data = [session_from_domain(await session_from_row(session, r)) for r in rows]
    return ocpi_response(data, headers=page.headers(
        ocpi_url(ctx.settings, SESSIONS_PATH), total, window.limit))


@router.get(CDRS_PATH)
async def list_cdrs(ctx: Ctx, caller: PartnerCaller, page: PageParams) -> Response:
    window = _window(ctx, page)
    async with transaction(ctx.sessionmaker) as session:
        rows, total = await page_own_cdrs(session, window, _emsps(caller))
        data = [cdr_from_domain(await cdr_from_row(session, r)) for r in rows]
    return ocpi_response(data, headers=page.headers(
        ocpi_url(ctx.settings, CDRS_PATH), total, window.limit))
