"""Disputes about one CDR: OPEN -> ANSWERED -> RESOLVED with ACCEPT or CREDIT.

A dispute is opened automatically when a partner's CDR re-prices outside the agreement's
tolerance (the CDR is ``disputed``, never booked), or by hand on an ``accepted`` CDR (its
booking is reversed at once, so a disputed amount is never invoiced). Resolving:
- ACCEPT: the CDR is accepted at the price it claims and booked in the agreement's open period
  (its own period when still open; a closed one stays locked);
- CREDIT: the CDR is written off (``credited``, not booked, not invoiced). For our own CDR,
  also issue a credit CDR to the eMSP (``POST /admin/cdrs/{id}/credit``); a partner's credit
  CDR for it is accepted without a booking.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.house import lifecycle as lc
from clearing.house import store
from clearing.house.context import RunCaches
from clearing.house.ledger import Line, Posting
from clearing.house.periods import local_date
from clearing.house.run import COLUMNS, assess, facts_of
from clearing.repricing import OK
from hub.db.models import CdrRow
from hub.db.models_clearing import (
    CdrClearingRow,
    DisputeRow,
    JournalEntryRow,
    JournalLineRow,
)
from hub.domain import Conflict, InvalidInput, NotFound

RESOLUTIONS = ("ACCEPT", "CREDIT")


def dispute_json(d: DisputeRow, cdr_id: str | None = None) -> dict[str, Any]:
    return {"id": d.id, "clearing_id": d.clearing_pk, "cdr_id": cdr_id, "status": d.status,
            "reason": d.reason, "answer": d.answer, "resolution": d.resolution,
            "opened_at": d.opened_at, "answered_at": d.answered_at,
            "resolved_at": d.resolved_at}


async def _clearing(session: AsyncSession, cdr_pk: int) -> CdrClearingRow:
    row = (await session.scalars(select(CdrClearingRow).where(
        CdrClearingRow.cdr_pk == cdr_pk))).first()
    if row is None:
        raise NotFound(f"CDR {cdr_pk} is not in clearing yet (run `hub clearing run`)")
    return row


async def open_dispute(session: AsyncSession, cdr_pk: int, reason: str, now: datetime,
                       zone: str) -> DisputeRow:
    if not reason.strip():
        raise InvalidInput("reason: is required")
    row = await _clearing(session, cdr_pk)
    lc.check_transition(row.state, lc.DISPUTED)
    if row.booked:
        await _reverse_booking(session, row, now, zone, why=f"disputed: {reason}")
    await store.move(session, row, lc.DISPUTED, reason, now)
    dispute = DisputeRow(clearing_pk=row.id, reason=reason, status="OPEN", opened_at=now)
    session.add(dispute)
    await session.flush()
    return dispute


async def _reverse_booking(session: AsyncSession, row: CdrClearingRow, now: datetime,
                           zone: str, why: str) -> None:
    entry = (await session.scalars(select(JournalEntryRow).where(
        JournalEntryRow.cdr_pk == row.cdr_pk, JournalEntryRow.kind == "CDR")
        .order_by(JournalEntryRow.id.desc()))).first()
    if entry is None:
        raise Conflict(f"CDR {row.cdr_pk} is marked booked but has no entry")
    lines = (await session.scalars(select(JournalLineRow).where(
        JournalLineRow.entry_pk == entry.id))).all()
    original = Posting(entry.key, entry.kind, entry.booked_on, entry.description, tuple(
        Line(x.account, x.entity_pk, x.debit, x.credit, x.currency, x.counterparty_pk, x.role,
             x.tax_rule, x.vat_rate, x.vat_country, x.original_currency, x.original_amount,
             x.fx_rate, x.fx_rate_date, x.fx_rule, x.reference) for x in lines),
        row.cdr_pk, entry.period_pk)
    count = await _count(session, row.cdr_pk)
    await store.post(session, original.reversal(
        f"rev:{row.cdr_pk}:{count}", local_date(now, zone), row.period_pk, why), now)
    row.booked = False


async def _count(session: AsyncSession, cdr_pk: int) -> int:
    return len((await session.scalars(select(JournalEntryRow.id).where(
        JournalEntryRow.cdr_pk == cdr_pk))).all())


async def get_dispute(session: AsyncSession, dispute_pk: int) -> DisputeRow:
    d = await session.get(DisputeRow, dispute_pk)
    if d is None:
        raise NotFound(f"unknown dispute {dispute_pk}")
    return d


async def answer_dispute(session: AsyncSession, dispute_pk: int, answer: str, now: datetime
                         ) -> DisputeRow:
    d = await get_dispute(session, dispute_pk)
    if d.status == "RESOLVED":
        raise Conflict(f"dispute {d.id} is resolved")
    if not answer.strip():
        raise InvalidInput("answer: is required")
    d.answer, d.status, d.answered_at = answer, "ANSWERED", now
    await session.flush()
    return d


async def resolve_dispute(session: AsyncSession, dispute_pk: int, resolution: str,
                          now: datetime, zone: str) -> DisputeRow:
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"resolution: one of {', '.join(RESOLUTIONS)}")
    d = await get_dispute(session, dispute_pk)
    if d.status == "RESOLVED":
        raise Conflict(f"dispute {d.id} is already resolved ({d.resolution})")
    row = await session.get(CdrClearingRow, d.clearing_pk)
    assert row is not None
    if resolution == "CREDIT":
        await store.move(session, row, lc.CREDITED, f"dispute {d.id} resolved: credit", now)
    else:
        await _accept(session, row, d, now, zone)
    d.status, d.resolution, d.resolved_at = "RESOLVED", resolution, now
    await session.flush()
    return d


async def _accept(session: AsyncSession, row: CdrClearingRow, d: DisputeRow, now: datetime,
                  zone: str) -> None:
    """Book the CDR as accepted in dispute (its claimed price), in the open period."""
    lc.check_transition(row.state, lc.ACCEPTED)
    cdr = (await session.execute(select(*COLUMNS).where(CdrRow.id == row.cdr_pk))).one()
    caches = RunCaches(zone)
    await caches.load(session)
    outcome = await assess(session, facts_of(cdr), caches,
                           {row.cdr_pk: (OK, f"accepted in dispute {d.id}")}, now)
    if outcome.posting is None:
        raise Conflict(f"CDR {row.cdr_pk} cannot be booked: " + "; ".join(
            c.message for c in outcome.failed))
    count = await _count(session, row.cdr_pk)
    await store.post(session, replace(outcome.posting, key=f"cdr:{row.cdr_pk}:{count}"), now)
    for key in ("period_pk", "net", "vat", "tax_rule", "vat_rate", "vat_country", "currency"):
        setattr(row, key, outcome.values[key])
    row.booked = True
    await store.move(session, row, lc.ACCEPTED, f"dispute {d.id} resolved: accept", now)
