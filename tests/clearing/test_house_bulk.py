"""The bulk path of a clearing run (``clearing.house.fastpath``) books exactly what the per-CDR
path (``clearing.house.run.assess``) books, and a run that crashed half-way books nothing
twice when it is run again.

The same month of CDRs (every kind: own sessions sold to drivers and to eMSPs, a partner's CDR,
conversions from SEK, an owner's location, split rules, a dispute, failed checks, a missing
rate, a credit CDR in a later batch) goes once through ``run_clearing(fast=False)`` (every
CDR through ``assess``) and once through the default run, each in a database of its own; then
both months are closed. Every clearing row, shown history, journal entry and line, exception,
ledger balance and invoice must be the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearing.entities import assign_owner, create_entity
from clearing.fx import store_rate
from clearing.house import close as close_module
from clearing.house import fastpath, queries
from clearing.house.close import close_month
from clearing.house.run import run_clearing
from clearing.split import SplitRule, save_rule
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import CdrRepricingRow
from hub.db.models_clearing import (
    CdrClearingRow,
    CdrTransitionRow,
    ClearingAgreementRow,
    ClearingExceptionRow,
    InvoiceLineRow,
    InvoiceRow,
    JournalEntryRow,
    JournalLineRow,
    SettlementPeriodRow,
)
from tests.clearing.test_house_support import (
    DEC,
    RIGA,
    add_cdr,
    assert_every_entry_balances,
    db,
    network,
)

__all__ = ["db"]
D = Decimal
NOV = datetime(2026, 11, 10, 12, tzinfo=UTC)


async def month(db: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """November 2026: 17 CDRs of every kind; returns {name: cdr pk}."""
    net = await network(db)
    p = net.parties
    async with transaction(db) as s:
        await create_entity(s, "LV-COOP", {"name": "Housing cooperative", "country": "LV",
                                           "vat_id": "LV40003999999"})
        await assign_owner(s, "LOCATION", "COOP", "LV-COOP", date(2026, 1, 1))
        await save_rule(s, SplitRule(
            id=0, role="PLATFORM", entity_code="LV-BIM", basis="PER_SESSION",  # type: ignore[arg-type]
            amount=D("0.50"), percent=None, tax_rule="DOMESTIC_VAT",  # type: ignore[arg-type]
            vat_rate=D(21), valid_from=date(2026, 1, 1), valid_to=None, scope="LOCATION",
            scope_id="SPLIT"))
        for day in range(1, 31):
            await store_rate(s, "SEK", date(2026, 11, day), D("11.4825"), "ECB")
    at = [NOV + timedelta(hours=i) for i in range(20)]
    cdrs: dict[str, int] = {}

    async def add(name: str, **kw: Any) -> None:
        cdrs[name] = await add_cdr(db, name, end=at[len(cdrs)], **kw)

    own, our_emsp = p["LV*BIM/CPO"], p["LV*BIM/EMSP"]
    await add("direct", cpo=own, emsp=our_emsp, kwh="20", excl="7.00", incl="8.47")
    await add("to-ee", cpo=own, emsp=p["EE*ELM/EMSP"], kwh="12.345", excl="4.32")
    await add("coop", cpo=own, emsp=p["FI*VIR/EMSP"], kwh="30", excl="10.50",
              location_id="COOP")
    await add("coop-direct", cpo=own, emsp=our_emsp, kwh="3", excl="1.05", location_id="COOP")
    await add("sek-own", cpo=own, emsp=p["SE*CHG/EMSP"], kwh="25", excl="200.00",
              currency="SEK")
    await add("split", cpo=own, emsp=our_emsp, kwh="10", excl="3.50", location_id="SPLIT")
    await add("negative", cpo=own, emsp=p["EE*ELM/EMSP"], kwh="-1", excl="1.00")
    await add("no-rate", cpo=own, emsp=p["EE*ELM/EMSP"], kwh="5", excl="9.00",
              currency="PLN")
    await add("zero-kwh", cpo=own, emsp=p["EE*ELM/EMSP"], kwh="0", excl="0.50")
    for name, cpo, ccy, country, status in (
            ("ee-ok", p["EE*ELM/CPO"], "EUR", "EST", "OK"),
            ("se-ok", p["SE*CHG/CPO"], "SEK", "SWE", "OK"),
            ("fi-outside", p["FI*VIR/CPO"], "EUR", "FIN", "OUTSIDE_TOLERANCE"),
            ("fi-ok", p["FI*VIR/CPO"], "EUR", "FIN", "OK")):
        await add(name, cpo=cpo, emsp=our_emsp, kwh="11", excl="5.55", incl="6.90",
                  currency=ccy, country=country, source="received")
        async with transaction(db) as s:
            s.add(CdrRepricingRow(cdr_pk=cdrs[name], status=status, tolerance=D("0.01"),
                                  currency=ccy, repriced_at=NOV,
                                  message="differs" if status != "OK" else None))
    await add("more", cpo=own, emsp=p["FI*VIR/EMSP"], kwh="40", excl="14.00")
    await add("credit-to-ee", cpo=own, emsp=p["EE*ELM/EMSP"], kwh="12.345", excl="-4.32",
              credit_of="to-ee")
    await add("late-direct", cpo=own, emsp=our_emsp, kwh="2", excl="0.70")
    await add("odd\\id\t1", cpo=own, emsp=p["EE*ELM/EMSP"], kwh="2", excl="0.70")  # COPY text
    return cdrs


async def snapshot(db: async_sessionmaker[AsyncSession], cdrs: dict[str, int]
                   ) -> dict[str, Any]:
    """Everything a run and a close write, without surrogate keys (periods by label and
    entity pair, entries by key)."""
    async with db() as s:
        period = {pk: (label, a, b) for pk, label, a, b in (await s.execute(
            select(SettlementPeriodRow.id, SettlementPeriodRow.label,
                   ClearingAgreementRow.entity_a_pk, ClearingAgreementRow.entity_b_pk)
            .join(ClearingAgreementRow,
                  ClearingAgreementRow.id == SettlementPeriodRow.agreement_pk))).all()}
        out: dict[str, Any] = {"clearing": {}, "history": {}}
        for name, pk in cdrs.items():
            row = (await s.scalars(select(CdrClearingRow).where(
                CdrClearingRow.cdr_pk == pk))).one()
            out["clearing"][name] = (
                row.state, period.get(row.period_pk or 0), row.supplier_pk, row.customer_pk,
                row.credit_of_pk is not None, row.checks, row.booked, row.direct, row.energy,
                row.currency, row.net, row.vat, row.tax_rule, row.vat_rate, row.vat_country,
                row.invoice_line_pk is not None, row.message)
            out["history"][name] = (await queries.cdr_state(s, pk))["history"]
        out["entries"] = sorted(
            (e.key, e.kind, e.booked_on, e.description, e.cdr_pk, period.get(e.period_pk or 0))
            for e in (await s.scalars(select(JournalEntryRow))).all())
        keys = {e.id: e.key for e in (await s.scalars(select(JournalEntryRow))).all()}
        out["lines"] = sorted(
            (keys[x.entry_pk], x.account, x.entity_pk, x.debit, x.credit, x.currency,
             x.counterparty_pk, x.role or "", x.tax_rule or "", x.vat_rate or 0,
             x.vat_country or "", x.original_currency or "", x.original_amount or 0,
             x.fx_rate or 0, x.fx_rate_date or date.min, x.fx_rule or "", x.reference or "")
            for x in (await s.scalars(select(JournalLineRow))).all())
        out["exceptions"] = sorted((e.key, e.kind, e.message, e.status) for e in (
            await s.scalars(select(ClearingExceptionRow))).all())
        out["balances"] = await queries.balances(s)
        out["invoices"] = sorted(
            (i.number, i.kind, i.issuer_pk, i.buyer_pk, i.currency, i.total_net, i.total_vat,
             i.total_gross) for i in (await s.scalars(select(InvoiceRow))).all())
        out["invoice_lines"] = sorted(
            (number, x.line_no, x.description, x.quantity, x.cdr_count, x.net, x.tax_rule,
             x.vat_rate, x.vat_amount, x.vat_country)
            for x, number in (await s.execute(select(InvoiceLineRow, InvoiceRow.number).join(
                InvoiceRow, InvoiceRow.id == InvoiceLineRow.invoice_pk))).all())
    return out


async def test_bulk_path_books_exactly_what_the_per_cdr_path_books(
        db, make_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same CDRs, two databases: per-CDR run vs bulk run (batches of 4, so the credit CDR
    meets its original from an earlier batch), then the close of both (on PostgreSQL: the
    per-CDR database closed by reading its CDRs, the bulk one set-based). Expected (by the
    rules of docs/clearing.md, "Lifecycle"): 11 accepted (the credited original becomes
    credited), 1 disputed (re-priced outside the tolerance), 2 left received with an
    exception (negative energy, no PLN rate), and every figure equal between the paths."""
    other_engine = make_engine(await asyncio.to_thread(make_settings))
    per_cdr = make_sessionmaker(other_engine)
    try:
        cdrs = await month(per_cdr)
        assert await month(db) == cdrs
        slow = await run_clearing(per_cdr, period="2026-11", zone=RIGA, now=DEC, batch_size=4,
                                  fast=False)
        bulk = await run_clearing(db, period="2026-11", zone=RIGA, now=DEC, batch_size=4)
        assert bulk.json() == slow.json()
        before = await snapshot(db, cdrs)
        assert before == await snapshot(per_cdr, cdrs)
        states = {n: c[0] for n, c in before["clearing"].items()}
        assert states == {
            "direct": "accepted", "to-ee": "credited", "coop": "accepted",
            "coop-direct": "accepted", "sek-own": "accepted", "split": "accepted",
            "negative": "received", "no-rate": "received", "zero-kwh": "accepted",
            "ee-ok": "accepted", "se-ok": "accepted", "fi-outside": "disputed",
            "fi-ok": "accepted", "more": "accepted", "credit-to-ee": "accepted",
            "late-direct": "accepted", "odd\\id\t1": "accepted"}
        # the bulk path took the common cases: one stored history row each
        async with db() as s:
            stored = (await s.scalar(select(func.count()).select_from(CdrTransitionRow)))
        assert stored == 16  # one per CDR that left "received" (15), + "to-ee" credited
        assert before["history"]["direct"] == [
            {"from": "received", "to": "validated", "reason": "checks passed", "at": DEC},
            {"from": "validated", "to": "rated", "reason": "checks passed", "at": DEC},
            {"from": "rated", "to": "accepted", "reason": "checks passed", "at": DEC}]
        for sm, set_based in ((db, True), (per_cdr, False)):
            monkeypatch.setattr(close_module, "SET_BASED", set_based)
            await close_month(sm, "2026-11", now=DEC, zone=RIGA)
            await assert_every_entry_balances(sm)
        after = await snapshot(db, cdrs)
        assert after == await snapshot(per_cdr, cdrs)
        assert after["invoices"] and after["history"]["ee-ok"][-1]["to"] == "invoiced"
    finally:
        await other_engine.dispose()


async def test_rerun_after_a_crash_books_nothing_twice(db, make_settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk write of the third batch fails (a crash half-way through the run): the two
    batches before it stay booked (each batch is one transaction), the third books nothing.
    The next run clears only what is left; afterwards every CDR has one clearing row and at
    most one ``cdr:<pk>`` entry, and the ledger equals that of a run that never crashed."""
    cdrs = await month(db)
    real = fastpath.write
    calls = 0

    async def crashing(session: AsyncSession, items: list[Any], now: datetime) -> None:
        nonlocal calls
        calls += 1
        n = calls  # two batches are in flight: another call may start during this one
        await real(session, items, now)
        if n == 3:
            raise RuntimeError("crash")

    monkeypatch.setattr(fastpath, "write", crashing)
    with pytest.raises(RuntimeError):
        await run_clearing(db, period="2026-11", zone=RIGA, now=DEC, batch_size=4)
    monkeypatch.setattr(fastpath, "write", real)
    async with db() as s:
        half = await s.scalar(select(func.count()).select_from(CdrClearingRow))
    # whole batches only: the first two, or just the first when the second, in flight beside
    # the crashing third, is cancelled before its commit
    assert half in (4, 8)
    again = await run_clearing(db, period="2026-11", zone=RIGA, now=DEC, batch_size=4)
    # the rest, + the CDRs still received after failed checks (retried by every run)
    assert again.processed == len(cdrs) - half + (2 if half == 8 else 0)
    assert (await run_clearing(db, period="2026-11", zone=RIGA, now=DEC)).booked == 0
    other_engine = make_engine(await asyncio.to_thread(make_settings))
    clean = make_sessionmaker(other_engine)
    try:
        await month(clean)
        await run_clearing(clean, period="2026-11", zone=RIGA, now=DEC, batch_size=4)
        crashed, never = await snapshot(db, cdrs), await snapshot(clean, cdrs)
    finally:
        await other_engine.dispose()
    for part in ("clearing", "entries", "lines", "balances", "history"):
        assert crashed[part] == never[part], part
    async with db() as s:
        keys = (await s.scalars(select(JournalEntryRow.key))).all()
    assert len(keys) == len(set(keys)) == 14  # booked: all but 2 received, 1 disputed
