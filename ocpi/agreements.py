"""Roaming agreements (issue 5, item 5): which OCPI module each partner may use.

One row per (partner, module) with ``allowed``; no row means allowed, so a new partner can use
every module its version details offer until the operator restricts it. Enforced for incoming
requests (``ocpi.auth.partner_caller``: HTTP 403, status 2000) and for our pushes
(``ocpi.delivery``: dead-lettered, not retried). versions and credentials are never restricted
(a partner must always be able to register, rotate or unregister).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import transaction
from hub.db.models import OcpiAgreementRow

UNRESTRICTED = frozenset({"versions", "credentials"})


async def allowed_in(session: AsyncSession, partner_id: int, module: str) -> bool:
    if module in UNRESTRICTED:
        return True
    allowed = await session.scalar(select(OcpiAgreementRow.allowed).where(
        OcpiAgreementRow.partner_id == partner_id, OcpiAgreementRow.module == module))
    return allowed is None or bool(allowed)


async def module_allowed(sessionmaker: async_sessionmaker[AsyncSession], partner_id: int,
                         module: str) -> bool:
    if module in UNRESTRICTED:
        return True
    async with transaction(sessionmaker) as session:
        return await allowed_in(session, partner_id, module)


async def set_agreement(session: AsyncSession, partner_id: int, module: str,
                        allowed: bool) -> None:
    row = await session.scalar(select(OcpiAgreementRow).where(
        OcpiAgreementRow.partner_id == partner_id, OcpiAgreementRow.module == module))
    if row is None:
        session.add(OcpiAgreementRow(partner_id=partner_id, module=module, allowed=allowed))
    else:
        row.allowed = allowed


async def agreements_of(session: AsyncSession, partner_id: int) -> dict[str, bool]:
    rows = (await session.scalars(select(OcpiAgreementRow).where(
        OcpiAgreementRow.partner_id == partner_id).order_by(OcpiAgreementRow.module))).all()
    return {r.module: r.allowed for r in rows}
