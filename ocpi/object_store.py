"""Queries behind the issue-5 module endpoints: our own tariffs, sessions and CDRs in pages
(OCPI pagination: ordered by last_updated then id, date_from inclusive, date_to exclusive),
and partner CPOs' locations as pushed to us (stored as exact JSON text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import (
    CdrRow,
    ChargingSessionRow,
    OcpiPartnerLocationRow,
    PartyRow,
    TariffRow,
)
from hub.domain import PartyRef
from hub.services.parties import find_party
from hub.services.tariffs import OWN
from ocpi.encoding import dumps, loads

R = TypeVar("R", TariffRow, ChargingSessionRow, CdrRow)


@dataclass(frozen=True)
class Window:
    date_from: datetime | None
    date_to: datetime | None
    offset: int
    limit: int


async def _page(session: AsyncSession, model: type[R], conds: list[ColumnElement[bool]],
                window: Window) -> tuple[list[R], int]:
    col = model.last_updated
    if window.date_from is not None:
        conds.append(col >= window.date_from)
    if window.date_to is not None:
        conds.append(col < window.date_to)
    total = await session.scalar(select(func.count()).select_from(model).where(*conds))
    stmt: Select[R] = (select(model).where(*conds).order_by(col, model.id)
                              .offset(window.offset).limit(window.limit))
    return list((await session.scalars(stmt)).all()), int(total or 0)


def _own_party_pks() -> Select[int]:
    return select(PartyRow.id).where(PartyRow.is_own.is_(True), PartyRow.role == "CPO")


async def page_own_tariffs(session: AsyncSession, window: Window
                           ) -> tuple[list[tuple[TariffRow, PartyRow]], int]:
    conds: list[ColumnElement[bool]] = [TariffRow.source == OWN,
                                        TariffRow.party_pk.in_(_own_party_pks())]
    rows, total = await _page(session, TariffRow, conds, window)
    return [(r, await _party(session, r.party_pk)) for r in rows], total


async def own_tariff(session: AsyncSession, tariff_id: str
                     ) -> tuple[TariffRow, PartyRow] | None:
    row = (await session.scalars(select(TariffRow).where(
        TariffRow.source == OWN, TariffRow.tariff_id == tariff_id,
        TariffRow.party_pk.in_(_own_party_pks())).order_by(TariffRow.id))).first()
    return (row, await _party(session, row.party_pk)) if row is not None else None


async def _party(session: AsyncSession, pk: int) -> PartyRow:
    row = await session.get(PartyRow, pk)
    assert row is not None
    return row


async def _emsp_pks(session: AsyncSession, emsps: tuple[PartyRef, ...]) -> list[int]:
    pks = []
    for ref in emsps:
        row = await find_party(session, ref.country_code, ref.party_id, "EMSP")
        if row is not None:
            pks.append(row.id)
    return pks


async def page_own_sessions(session: AsyncSession, window: Window,
                            emsps: tuple[PartyRef, ...] | None
                            ) -> tuple[list[ChargingSessionRow], int]:
    """Our CPOs' sessions; ``emsps`` None = all (a hub caller), else only theirs."""
    conds: list[ColumnElement[bool]] = [ChargingSessionRow.cpo_party_pk.in_(_own_party_pks())]
    if emsps is not None:
        conds.append(ChargingSessionRow.emsp_party_pk.in_(await _emsp_pks(session, emsps)))
    return await _page(session, ChargingSessionRow, conds, window)


async def page_own_cdrs(session: AsyncSession, window: Window,
                        emsps: tuple[PartyRef, ...] | None) -> tuple[list[CdrRow], int]:
    conds: list[ColumnElement[bool]] = [CdrRow.source == OWN,
                                        CdrRow.cpo_party_pk.in_(_own_party_pks())]
    if emsps is not None:
        conds.append(CdrRow.emsp_party_pk.in_(await _emsp_pks(session, emsps)))
    return await _page(session, CdrRow, conds, window)


# -- partner locations -------------------------------------------------------------------------


async def partner_location(session: AsyncSession, cpo: PartyRef, location_id: str
                           ) -> dict[str, Any] | None:
    party = await find_party(session, cpo.country_code, cpo.party_id, "CPO")
    if party is None:
        return None
    row = await _location_row(session, party.id, location_id)
    return dict(loads(row.body)) if row is not None else None


async def _location_row(session: AsyncSession, party_pk: int, location_id: str
                        ) -> OcpiPartnerLocationRow | None:
    return (await session.scalars(select(OcpiPartnerLocationRow).where(
        OcpiPartnerLocationRow.party_pk == party_pk,
        func.upper(OcpiPartnerLocationRow.location_id) == location_id.upper()))).first()


async def save_partner_location(session: AsyncSession, cpo: PartyRef, location: dict[str, Any],
                                last_updated: datetime, partner_id: int) -> bool:
    """Insert or replace; True when it is new. ``location`` holds Decimals and datetimes."""
    party = await find_party(session, cpo.country_code, cpo.party_id, "CPO")
    assert party is not None  # owner_party() made sure it exists
    row = await _location_row(session, party.id, str(location["id"]))
    created = row is None
    if row is None:
        row = OcpiPartnerLocationRow(party_pk=party.id, location_id=str(location["id"]))
        session.add(row)
    row.partner_id = partner_id
    row.body = dumps(location).decode()
    row.last_updated = last_updated
    await session.flush()
    return created
