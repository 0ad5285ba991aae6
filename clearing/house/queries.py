"""Read models of the clearing house for the admin API and the CLI (JSON-ready dicts)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.house import lifecycle as lc
from hub.db.models import CdrRow
from hub.db.models_clearing import (
    CdrClearingRow,
    CdrTransitionRow,
    ClearingAgreementRow,
    ClearingExceptionRow,
    ClearingRunRow,
    InvoiceRow,
    JournalLineRow,
    NettingRow,
    SettlementPeriodRow,
)
from hub.db.models_clearing_ref import LegalEntityRow
from hub.domain import NotFound


async def codes(session: AsyncSession) -> dict[int, str]:
    return {e.id: e.code for e in (await session.scalars(select(LegalEntityRow))).all()}


async def periods(session: AsyncSession, label: str | None = None) -> list[dict[str, Any]]:
    q = select(SettlementPeriodRow, ClearingAgreementRow).join(
        ClearingAgreementRow, ClearingAgreementRow.id == SettlementPeriodRow.agreement_pk)
    if label:
        q = q.where(SettlementPeriodRow.label == label)
    names = await codes(session)
    return [{"id": p.id, "label": p.label, "start": p.start, "end": p.end, "status": p.status,
             "closed_at": p.closed_at, "agreement_id": a.id,
             "entities": [names.get(a.entity_a_pk), names.get(a.entity_b_pk)]}
            for p, a in (await session.execute(q.order_by(SettlementPeriodRow.start,
                                                          SettlementPeriodRow.id))).all()]


async def agreements(session: AsyncSession) -> list[dict[str, Any]]:
    names = await codes(session)
    return [agreement_json(a, names) for a in (await session.scalars(
        select(ClearingAgreementRow).order_by(ClearingAgreementRow.id))).all()]


def agreement_json(a: ClearingAgreementRow, names: dict[int, str]) -> dict[str, Any]:
    return {"id": a.id, "entities": [names.get(a.entity_a_pk), names.get(a.entity_b_pk)],
            "b2b_vat_option": a.b2b_vat_option, "settlement_currency": a.settlement_currency,
            "period_months": a.period_months, "payment_terms_days": a.payment_terms_days,
            "netting": a.netting}


async def runs(session: AsyncSession, limit: int = 50) -> list[dict[str, Any]]:
    return [{"id": r.id, "kind": r.kind, "period": r.period, "started_at": r.started_at,
             "finished_at": r.finished_at, "counts": r.counts}
            for r in (await session.scalars(select(ClearingRunRow).order_by(
                ClearingRunRow.id.desc()).limit(min(limit, 500)))).all()]


async def exceptions(session: AsyncSession, status: str | None = "OPEN", limit: int = 200
                     ) -> list[dict[str, Any]]:
    q = select(ClearingExceptionRow)
    if status:
        q = q.where(ClearingExceptionRow.status == status.upper())
    return [{"id": e.id, "kind": e.kind, "key": e.key, "cdr_pk": e.cdr_pk,
             "bank_line_pk": e.bank_line_pk, "message": e.message, "status": e.status,
             "created_at": e.created_at, "resolved_at": e.resolved_at}
            for e in (await session.scalars(q.order_by(ClearingExceptionRow.id)
                                            .limit(min(limit, 5000)))).all()]


async def cdr_state(session: AsyncSession, cdr_pk: int) -> dict[str, Any]:
    row = (await session.execute(select(CdrClearingRow, CdrRow.cdr_id).join(
        CdrRow, CdrRow.id == CdrClearingRow.cdr_pk).where(
        CdrClearingRow.cdr_pk == cdr_pk))).first()
    if row is None:
        raise NotFound(f"CDR {cdr_pk} is not in clearing")
    cc, cdr_id = row
    own = CdrTransitionRow.clearing_pk == cc.id
    rows = (await session.scalars(select(CdrTransitionRow).where(
        own if cc.invoice_line_pk is None
        else or_(own, CdrTransitionRow.invoice_line_pk == cc.invoice_line_pk))
        .order_by(CdrTransitionRow.id))).all()
    history, state = [], None
    for h in rows:
        # A row of the CDR's invoice line (close, payment) moved only the line's CDRs that
        # were in its from-state then (``store.line_history``).
        if h.clearing_pk is None and h.from_state != state:
            continue
        history.append(h)
        state = h.to_state
    return {"cdr_pk": cdr_pk, "cdr_id": cdr_id, "state": cc.state, "period_id": cc.period_pk,
            "booked": cc.booked, "checks": cc.checks, "currency": cc.currency, "net": cc.net,
            "vat": cc.vat, "tax_rule": cc.tax_rule, "vat_rate": cc.vat_rate,
            "vat_country": cc.vat_country, "invoice_line_id": cc.invoice_line_pk,
            "message": cc.message,
            # a run's path is stored as one row: every step of it is shown
            "history": [{"from": a, "to": b, "reason": h.reason, "at": h.at}
                        for h in history for a, b in lc.expand(h.from_state, h.to_state)]}


async def invoices(session: AsyncSession, label: str | None = None) -> list[dict[str, Any]]:
    q = select(InvoiceRow, SettlementPeriodRow.label).join(
        SettlementPeriodRow, SettlementPeriodRow.id == InvoiceRow.period_pk)
    if label:
        q = q.where(SettlementPeriodRow.label == label)
    names = await codes(session)
    return [{"number": i.number, "kind": i.kind, "period": lab,
             "issuer": names.get(i.issuer_pk), "buyer": names.get(i.buyer_pk),
             "currency": i.currency, "issue_date": i.issue_date, "due_date": i.due_date,
             "total_net": i.total_net, "total_vat": i.total_vat, "total_gross": i.total_gross,
             "status": i.status}
            for i, lab in (await session.execute(q.order_by(InvoiceRow.id))).all()]


async def invoice_by_number(session: AsyncSession, number: str) -> InvoiceRow:
    row = (await session.scalars(select(InvoiceRow).where(InvoiceRow.number == number))).first()
    if row is None:
        raise NotFound(f"unknown invoice {number}")
    return row


async def nettings(session: AsyncSession, label: str | None = None) -> list[dict[str, Any]]:
    q = select(NettingRow, SettlementPeriodRow.label).join(
        SettlementPeriodRow, SettlementPeriodRow.id == NettingRow.period_pk)
    if label:
        q = q.where(SettlementPeriodRow.label == label)
    names = await codes(session)
    return [{"reference": n.reference, "period": lab, "currency": n.currency,
             "payer": names.get(n.payer_pk), "payee": names.get(n.payee_pk),
             "amount": n.amount, "receivable": n.receivable, "payable": n.payable,
             "invoices": n.invoice_numbers, "status": n.status}
            for n, lab in (await session.execute(q.order_by(NettingRow.id))).all()]


async def balances(session: AsyncSession, entity_pk: int | None = None
                   ) -> list[dict[str, Any]]:
    """Ledger balance (debit - credit) per entity, account and currency."""
    q = select(JournalLineRow.entity_pk, JournalLineRow.account, JournalLineRow.currency,
               JournalLineRow.debit, JournalLineRow.credit)
    if entity_pk is not None:
        q = q.where(JournalLineRow.entity_pk == entity_pk)
    acc: dict[tuple[int | None, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)])
    result = await session.stream(q.execution_options(yield_per=5000))
    async for part in result.partitions():
        for ent, account, ccy, debit, credit in part:
            a = acc[(ent, account, ccy)]
            a[0] += debit
            a[1] += credit
    names = await codes(session)
    return [{"entity": names.get(e) if e is not None else None, "account": account,
             "currency": ccy, "debit": d, "credit": c, "balance": d - c}
            for (e, account, ccy), (d, c) in sorted(
                acc.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1], kv[0][2]))]
