"""Parties: our own (from settings) and partners' (learned from credentials)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.changes import track
from hub.db.models import PartyRow
from hub.db.refcache import cached
from hub.domain import NotFound, PartyRef
from hub.settings import Settings

track((PartyRow.__tablename__,))  # other processes' writes reach this process's cache


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


@dataclass(frozen=True, slots=True)
class PartyFacts:
    """What the session hot path needs of a party (cached: hub.db.refcache)."""

    pk: int
    is_own: bool
    partner_id: int | None
    country_code: str

    @property
    def partner_to_tell(self) -> int | None:
        """The partner platform that hears of this party's sessions and CDRs (None: ours)."""
        return None if self.is_own else self.partner_id


def _facts(row: PartyRow | None) -> PartyFacts | None:
    return None if row is None else PartyFacts(row.id, row.is_own, row.partner_id,
                                               row.country_code)


async def party_facts(session: AsyncSession, pk: int) -> PartyFacts | None:
    async def load() -> PartyFacts | None:
        return _facts(await session.get(PartyRow, pk))
    return await cached(session, ("party_facts", pk), (PartyRow.__tablename__,), load)


async def party_facts_for(session: AsyncSession, country_code: str, party_id: str,
                          role: str) -> PartyFacts | None:
    """``find_party`` (case-insensitive), cached."""
    async def load() -> PartyFacts | None:
        return _facts(await find_party(session, country_code, party_id, role))
    return await cached(session, ("party_facts_for", country_code.upper(), party_id.upper(),
                                  role), (PartyRow.__tablename__,), load)


async def own_party_pk(session: AsyncSession, role: str) -> int:
    """``own_party(...).id``, cached (hub.db.refcache): read on every session start."""
    async def load() -> int:
        return (await own_party(session, role)).id
    return await cached(session, ("own_party_pk", role), (PartyRow.__tablename__,), load)


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
