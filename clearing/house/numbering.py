"""Gapless invoice numbers per issuer: ``<issuer code>-<000001>``, one series for invoices and
credit notes of an issuer.

The issuer's counter row is read ``FOR UPDATE`` (PostgreSQL locks it until the transaction
ends; SQLite serialises writers anyway) and incremented in the same transaction that stores
the invoice: a rolled-back close leaves no number used, two closes never share one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models_clearing import InvoiceCounterRow
from hub.db.models_clearing_ref import LegalEntityRow


async def next_number(session: AsyncSession, issuer: LegalEntityRow) -> str:
    row = (await session.scalars(select(InvoiceCounterRow).where(
        InvoiceCounterRow.issuer_pk == issuer.id).with_for_update())).first()
    if row is None:
        row = InvoiceCounterRow(issuer_pk=issuer.id, last_number=0)
        session.add(row)
    row.last_number += 1
    await session.flush()
    return f"{issuer.code}-{row.last_number:06d}"
