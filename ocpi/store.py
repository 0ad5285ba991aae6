"""The objects partners pushed to us, exactly as they sent them (the ``raw`` columns).

The hub services return domain values; a Receiver GET or a PATCH needs the full OCPI object
as received, which only the stored raw payload has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import CdrRow, ChargingSessionRow
from hub.domain import PartyRef
from hub.services.parties import find_party


async def received_session_raw(session: AsyncSession, cpo: PartyRef, session_id: str
                               ) -> dict[str, Any] | None:
    party = await find_party(session, cpo.country_code, cpo.party_id, "CPO")
    if party is None:
        return None
    row = (await session.scalars(select(ChargingSessionRow).where(
        ChargingSessionRow.cpo_party_pk == party.id,
        ChargingSessionRow.session_id == session_id))).first()
    return dict(row.raw) if row is not None and row.raw else None


async def received_cdr_raw(session: AsyncSession, cpo: PartyRef, cdr_id: str
                           ) -> dict[str, Any] | None:
    party = await find_party(session, cpo.country_code, cpo.party_id, "CPO")
    if party is None:
        return None
    row = (await session.scalars(select(CdrRow).where(
        CdrRow.cpo_party_pk == party.id, CdrRow.cdr_id == cdr_id))).first()
    return dict(row.raw) if row is not None and row.raw else None
