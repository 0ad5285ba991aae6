"""Parties: our own (from settings) and partners' (learned from credentials)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import PartyRow
from hub.domain import NotFound, PartyRef
from hub.settings import Settings


def party_ref(row: PartyRow) -> PartyRef:
    return PartyRef(row.country_code, row.party_id, row.role)


async def ensure_own_parties(session: AsyncSession, settings: Settings) -> list[PartyRow]:
    rows = []
    for p in settings.parties:
        row = await find_party(session, p.country_code, p.party_id, p.role)
        if row is None:
            row = PartyRow(country_code=p.country_code, party_id=p.party_id, role=p.role,
                           name=p.name, is_own=True)
            session.add(row)
        else:
            row.is_own, row.name = True, p.name
        rows.append(row)
    await session.flush()
    return rows


async def find_party(
    session: AsyncSession, country_code: str, party_id: str, role: str | None = None
) -> PartyRow | None:
    # Peers lower-case party codes (PROTOCOL_NOTES, OCPI deviations): match case-insensitively.
    stmt = select(PartyRow).where(
        func.upper(PartyRow.country_code) == country_code.upper(),
        func.upper(PartyRow.party_id) == party_id.upper(),
    )
    if role is not None:
        stmt = stmt.where(PartyRow.role == role)
    return (await session.scalars(stmt.order_by(PartyRow.id))).first()


async def own_party(session: AsyncSession, role: str) -> PartyRow:
    row = (
        await session.scalars(
            select(PartyRow).where(PartyRow.is_own.is_(True), PartyRow.role == role)
            .order_by(PartyRow.id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no own party with role {role}; check HUB_PARTIES")
    return row


async def upsert_partner_party(
    session: AsyncSession, ref: PartyRef, partner_id: int, name: str = ""
) -> PartyRow:
    row = await find_party(session, ref.country_code, ref.party_id, ref.role)
    if row is None:
        row = PartyRow(country_code=ref.country_code, party_id=ref.party_id, role=ref.role,
                       name=name, is_own=False, partner_id=partner_id)
        session.add(row)
    elif not row.is_own:
        row.partner_id = partner_id
        row.name = name or row.name
    await session.flush()
    return row
