"""GET All via the hub (issue 5, item 3; OCPI 2.2.1 transport_and_format, "GET All via Hubs").

A client GETs the Sender interface of ``locations`` or ``tariffs`` with the hub's party in the
OCPI-to headers; the hub answers from its own store: our own published objects first, then
the objects partner CPOs pushed to us (``OcpiPartnerLocationRow``, partner ``TariffRow``), each
part ordered by ``last_updated`` then id (a stable order for offset pagination). Objects of a
partner whose roaming agreement denies the module are left out (the caller's own agreement is
checked like for any request). Pagination as for our own Sender (``Link``, ``X-Total-Count``,
``X-Limit``; ``date_from`` inclusive, ``date_to`` exclusive); ``last_updated`` is the owner's.
The owner of each object is its ``country_code``/``party_id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcpiAgreementRow, OcpiPartnerLocationRow, PartyRow, TariffRow
from hub.services.network import page_locations
from hub.services.tariffs import PARTNER
from ocpi.encoding import RawJson
from ocpi.errors import INVALID_PARAMETERS, OcpiError
from ocpi.mappers import location_from_domain
from ocpi.object_store import Window, page_own_tariffs
from ocpi.parsing import Page
from ocpi.response import ocpi_response
from ocpi.schemas import DateTime
from ocpi.tariffs import tariff_json
from ocpi.urls import ocpi_url

MODULES = frozenset({"locations", "tariffs"})
_DATETIME: TypeAdapter[datetime] = TypeAdapter(DateTime)


def _page(request: Request) -> Page:
    q = request.query_params
    try:
        date_from = _DATETIME.validate_python(q["date_from"]) if q.get("date_from") else None
        date_to = _DATETIME.validate_python(q["date_to"]) if q.get("date_to") else None
        offset = int(q.get("offset") or 0)
        limit = int(q["limit"]) if q.get("limit") else None
    except (ValidationError, ValueError) as exc:
        raise OcpiError(INVALID_PARAMETERS, "invalid pagination parameters", 400) from exc
    if offset < 0 or (limit is not None and limit < 1):
        raise OcpiError(INVALID_PARAMETERS, "invalid pagination parameters", 400)
    return Page(date_from, date_to, offset, limit)


def _denied(module: str) -> Any:
    return select(OcpiAgreementRow.partner_id).where(
        OcpiAgreementRow.module == module, OcpiAgreementRow.allowed.is_(False))


def _window(conds: list[ColumnElement[bool]], col: Any, window: Window) -> None:
    if window.date_from is not None:
        conds.append(col >= window.date_from)
    if window.date_to is not None:
        conds.append(col < window.date_to)


async def _partner_locations(session: AsyncSession, window: Window, offset: int, limit: int
                             ) -> tuple[list[Any], int]:
    m = OcpiPartnerLocationRow
    conds: list[ColumnElement[bool]] = [
        m.party_pk.in_(select(PartyRow.id).where(
            PartyRow.is_own.is_(False), PartyRow.partner_id.not_in(_denied("locations"))))]
    _window(conds, m.last_updated, window)
    total = int(await session.scalar(select(func.count()).select_from(m).where(*conds)) or 0)
    if limit <= 0:
        return [], total
    # The page's ids first, then their bodies: skipping ``offset`` rows over the narrow
    # columns is several times faster than over the stored JSON (bench/ocpi_load.py, (b)).
    ids = (await session.scalars(select(m.id).where(*conds).order_by(m.last_updated, m.id)
                                 .offset(offset).limit(limit))).all()
    bodies = (await session.scalars(select(m.body).where(m.id.in_(ids))
                                    .order_by(m.last_updated, m.id))).all() if ids else []
    # Stored as written by ocpi.encoding.dumps (ocpi.object_store): served as they are.
    return [RawJson(body) for body in bodies], total


async def _partner_tariffs(session: AsyncSession, window: Window, offset: int, limit: int
                           ) -> tuple[list[dict[str, Any]], int]:
    conds: list[ColumnElement[bool]] = [
        TariffRow.source == PARTNER,
        PartyRow.is_own.is_(False), PartyRow.partner_id.not_in(_denied("tariffs"))]
    _window(conds, TariffRow.last_updated, window)
    joined = select(func.count()).select_from(TariffRow).join(
        PartyRow, PartyRow.id == TariffRow.party_pk)
    total = int(await session.scalar(joined.where(*conds)) or 0)
    if limit <= 0:
        return [], total
    rows = (await session.execute(
        select(TariffRow, PartyRow).join(PartyRow, PartyRow.id == TariffRow.party_pk)
        .where(*conds).order_by(TariffRow.last_updated, TariffRow.id)
        .offset(offset).limit(limit))).all()
    return [tariff_json(t, p) for t, p in rows], total


async def get_all(ctx: HubContext, request: Request, module: str, sender_path: str
                  ) -> Response:
    page = _page(request)
    limit = page.bounded_limit(ctx.settings)
    window = Window(page.date_from, page.date_to, page.offset, limit)
    async with transaction(ctx.sessionmaker) as session:
        data: list[dict[str, Any]]
        if module == "locations":
            own, own_total = await page_locations(
                session, date_from=page.date_from, date_to=page.date_to,
                offset=page.offset, limit=limit)
            data = [location_from_domain(loc) for loc in own]
            theirs, their_total = await _partner_locations(
                session, window, max(0, page.offset - own_total), limit - len(data))
        else:
            own_rows, own_total = await page_own_tariffs(session, window)
            data = [tariff_json(row, party) for row, party in own_rows]
            theirs, their_total = await _partner_tariffs(
                session, window, max(0, page.offset - own_total), limit - len(data))
    data.extend(theirs)
    total = own_total + their_total
    return ocpi_response(data, headers=page.headers(ocpi_url(ctx.settings, sender_path),
                                                    total, limit))
