"""``clearing.house.integrity.verify``: the high-volume clearing and ledger rows have no foreign
keys (migration 0017), so a close checks them: orphans made by hand are found, reported as
``INTEGRITY`` exceptions by the close, and resolved once repaired."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, update

from clearing.house import integrity
from clearing.house.close import close_month
from clearing.house.run import run_clearing
from hub.db.base import transaction
from hub.db.models_clearing import (
    CdrClearingRow,
    CdrTransitionRow,
    ClearingExceptionRow,
    JournalEntryRow,
    JournalLineRow,
    SettlementPeriodRow,
)
from tests.clearing.test_house_bulk import month
from tests.clearing.test_house_support import DEC, RIGA, db

__all__ = ["db"]
NOW = DEC


async def _periods(s: object) -> list[int]:
    return list(
        (
            await s.scalars(
                select(SettlementPeriodRow.id).where(  # type: ignore[attr-defined]
                    SettlementPeriodRow.label == "2026-11"
                )
            )
        ).all()
    )


async def test_a_clean_month_verifies_and_orphans_are_found(db) -> None:
    await month(db)
    await run_clearing(db, period="2026-11", zone=RIGA, now=NOW, batch_size=4)
    closed = await close_month(db, "2026-11", now=NOW, zone=RIGA)
    assert closed.closed and closed.integrity == {}
    async with transaction(db) as s:
        assert (await integrity.verify(s)).ok
        periods = await _periods(s)
        assert (await integrity.verify(s, periods)).ok
        # break it by hand: the foreign keys that would have refused these are gone
        entry = (
            await s.scalars(
                select(JournalEntryRow)
                .where(JournalEntryRow.period_pk.in_(periods))
                .order_by(JournalEntryRow.id)
            )
        ).first()
        assert entry is not None
        lines = (
            await s.scalars(
                select(JournalLineRow.id)
                .where(JournalLineRow.entry_pk == entry.id)
                .order_by(JournalLineRow.id)
            )
        ).all()
        await s.execute(delete(JournalEntryRow).where(JournalEntryRow.id == entry.id))
        other = (
            await s.scalars(
                select(JournalEntryRow.id)
                .where(JournalEntryRow.period_pk.in_(periods))
                .order_by(JournalEntryRow.id)
            )
        ).all()[-1]
        changed = (
            await s.scalars(
                select(JournalLineRow)
                .where(JournalLineRow.entry_pk == other)
                .order_by(JournalLineRow.id)
            )
        ).first()
        assert changed is not None
        was = changed.debit, changed.entity_pk
        changed.debit, changed.entity_pk = Decimal("999.99"), 987654
        row = (
            await s.scalars(
                select(CdrClearingRow)
                .where(CdrClearingRow.period_pk.in_(periods))
                .order_by(CdrClearingRow.id)
            )
        ).first()
        assert row is not None
        s.add(
            CdrClearingRow(
                cdr_pk=876543,
                state="accepted",
                period_pk=row.period_pk,
                supplier_pk=row.supplier_pk,
                customer_pk=765432,
                checks=[],
                booked=True,
                invoice_line_pk=654321,
            )
        )
        s.add(
            JournalEntryRow(
                key="orphan",
                period_pk=543210,
                kind="CDR",
                booked_on=date(2026, 11, 30),
                cdr_pk=None,
            )
        )
        s.add(
            CdrTransitionRow(clearing_pk=row.id + 10**6, from_state="received", to_state="accepted")
        )
        s.add(
            CdrTransitionRow(
                clearing_pk=None, invoice_line_pk=432109, from_state="accepted", to_state="invoiced"
            )
        )
        await s.flush()
        report = await integrity.verify(s, periods)
        everything = await integrity.verify(s)
    found = {f.kind: f for f in report.findings}
    assert set(found) == {
        "clearing_without_cdr",
        "clearing_without_entity",
        "clearing_without_line",
        "history_without_clearing",
        "entry_without_period",
        "line_without_entry",
        "line_without_entity",
        "unbalanced_entry",
    }
    assert found["line_without_entry"].ids == list(lines)
    assert found["line_without_entry"].count == len(lines)
    assert found["unbalanced_entry"].ids == [other]
    assert found["history_without_clearing"].count == 2
    assert "line without entry" in found["line_without_entry"].message
    assert {f.kind for f in everything.findings} == set(found)
    # a close of the month reports them for finance (the periods stay closed)
    again = await close_month(db, "2026-11", now=NOW, zone=RIGA)
    assert again.already_closed and set(again.integrity) == set(found)
    async with db() as s:
        open_ = (
            await s.scalars(
                select(ClearingExceptionRow.key).where(
                    ClearingExceptionRow.kind == "INTEGRITY", ClearingExceptionRow.status == "OPEN"
                )
            )
        ).all()
    assert sorted(open_) == sorted(f"integrity:2026-11:{k}" for k in found)
    # repaired (orphans removed): the next close resolves them
    async with transaction(db) as s:
        await s.execute(delete(JournalLineRow).where(JournalLineRow.id.in_(lines)))
        await s.execute(
            update(JournalLineRow)
            .where(JournalLineRow.entity_pk == 987654)
            .values(debit=was[0], entity_pk=was[1])
        )
        await s.execute(delete(CdrClearingRow).where(CdrClearingRow.cdr_pk == 876543))
        await s.execute(delete(JournalEntryRow).where(JournalEntryRow.key == "orphan"))
        await s.execute(
            delete(CdrTransitionRow).where(
                (CdrTransitionRow.clearing_pk > 10**6)
                | (CdrTransitionRow.invoice_line_pk == 432109)
            )
        )
    async with transaction(db) as s:
        assert (await integrity.verify(s, await _periods(s))).ok
    await close_month(db, "2026-11", now=NOW, zone=RIGA)
    async with db() as s:
        statuses = set(
            (
                await s.scalars(
                    select(ClearingExceptionRow.status).where(
                        ClearingExceptionRow.kind == "INTEGRITY"
                    )
                )
            ).all()
        )
    assert statuses == {"RESOLVED"}
