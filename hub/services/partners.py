"""Partner platforms and the credentials we hold for them (protocol-neutral storage).

The OCPI edge runs the handshake; this module only stores its results. Tokens we accept are
kept as SHA-256 hashes (``hub.security.token_hash``), so a database dump or a log line cannot
leak them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import PartnerRow
from hub.domain import NotFound
from hub.security import new_token, token_hash


async def issue_token_a(session: AsyncSession, name: str, now: datetime) -> tuple[PartnerRow, str]:
    """A new partner in PLANNED state and the token A it registers with (shown once)."""
    token = new_token()
    row = PartnerRow(name=name, status="PLANNED", token_a_hash=token_hash(token),
                     created_at=now, updated_at=now, endpoints=[])
    session.add(row)
    await session.flush()
    return row, token


async def partner_for_token(
    session: AsyncSession, token: str
) -> tuple[PartnerRow, str] | None:
    """The partner presenting ``token``: ("A", row) for a registration token, ("C", row) for the
    credentials token of a registered partner."""
    digest = token_hash(token)
    row = (await session.scalars(select(PartnerRow).where(
        or_(PartnerRow.token_in_hash == digest, PartnerRow.token_a_hash == digest)))).first()
    if row is None:
        return None
    return row, ("C" if row.token_in_hash == digest else "A")


async def get_partner(session: AsyncSession, partner_id: int) -> PartnerRow:
    row = await session.get(PartnerRow, partner_id)
    if row is None:
        raise NotFound(f"unknown partner {partner_id}")
    return row


async def list_partners(session: AsyncSession) -> list[PartnerRow]:
    return list((await session.scalars(select(PartnerRow).order_by(PartnerRow.id))).all())


def endpoint_url(partner: PartnerRow, module: str, role: str | None = None) -> str | None:
    """URL of a module in the partner's version details (OCPI 2.2.1 version_information)."""
    for ep in partner.endpoints or []:
        if ep.get("identifier") == module and (role is None or ep.get("role") == role):
            url = ep.get("url")
            return str(url) if url else None
    return None


def public_partner(row: PartnerRow) -> dict[str, Any]:
    """What the admin API shows: never a token."""
    return {
        "id": row.id, "name": row.name, "protocol": row.protocol, "status": row.status,
        "versions_url": row.versions_url, "version": row.version,
        "parties": [f"{p.country_code}*{p.party_id} {p.role}" for p in row.parties],
        "registered": row.token_in_hash is not None,
    }
