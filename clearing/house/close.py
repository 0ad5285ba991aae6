"""Closing a settlement period: invoices and credit notes, netting, then the lock.

Per agreement period, in one transaction:
1. every booked, not yet invoiced CDR of the period between two different entities goes on the
   supplier's invoice to the customer (one invoice per currency; one line per tax rule, rate
   and VAT country; each CDR keeps the invoice line it is on). A credit CDR whose original was
   invoiced goes on a credit note to the original invoice instead.
2. invoice VAT is computed on each line's total (Peppol BR-CO-17); the cents by which it
   differs from the per-CDR VAT already booked are booked as a rounding adjustment.
3. with netting on, the period's invoices and credit notes between the two entities become one
   payment instruction per currency (the VAT documents stay separate).
4. the period is CLOSED (locked) and the next one opened.
On PostgreSQL step 1 is set-based for invoices: one statement per period marks its CDRs with
their invoice lines, moves them to invoiced and returns each line's exact sums
(``_invoices_sql``); SQLite reads the CDRs and sums them in Python. Same result. Either way
the move to invoiced is ONE history row per invoice line (``store.line_history``), not one
per CDR.
After the periods, ``check_integrity`` runs ``integrity.verify`` on their rows (the
high-volume rows have no foreign keys): what it finds becomes an ``INTEGRITY`` exception for
finance.
Closing a closed period raises ``PeriodClosed``; ``close_month`` skips closed periods, so
re-running a close books and numbers nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import structlog
from sqlalchemy import and_, exists, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from clearing.house import integrity, ledger
from clearing.house import lifecycle as lc
from clearing.house.ledger import Posting, cr, dr
from clearing.house.monthly import book_monthly_fees
from clearing.house.numbering import next_number
from clearing.house.periods import CLOSED, OPEN, PeriodClosed, add_months, local_date
from clearing.house.settle import settle_netting
from clearing.house.store import line_history, post, raise_exception, resolve_exceptions
from clearing.money import quantum
from hub.db.base import transaction
from hub.db.models_clearing import (
    CdrClearingRow,
    ClearingAgreementRow,
    ClearingRunRow,
    InvoiceLineRow,
    InvoiceRow,
    NettingRow,
    SettlementPeriodRow,
)
from hub.db.models_clearing_ref import LegalEntityRow
from hub.domain import NotFound

log = structlog.get_logger("clearing.house.close")
ZERO = Decimal(0)


@dataclass
class CloseResult:
    closed: list[int] = field(default_factory=list)
    already_closed: list[int] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    credit_notes: list[str] = field(default_factory=list)
    nettings: list[str] = field(default_factory=list)
    monthly_fees: int = 0  # per-charge-point fee entries booked (clearing.house.monthly)
    # what ``integrity.verify`` found in the closed periods' rows (kind -> count, ids)
    integrity: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return {"closed": self.closed, "already_closed": self.already_closed,
                "invoices": self.invoices, "credit_notes": self.credit_notes,
                "nettings": self.nettings, "monthly_fees": self.monthly_fees,
                "integrity": self.integrity}


def _orig() -> Any:
    return aliased(CdrClearingRow, name="orig")


def _invoiceable(period_pk: int) -> Any:
    """Booked, not yet invoiced CDRs of the period between two entities; a credit CDR only
    if its original is not invoiced (else it goes on a credit note). The original is looked
    up by EXISTS, not an outer join: only for the few credit CDRs, never a join of every CDR
    with every CDR."""
    orig = _orig()
    return and_(CdrClearingRow.period_pk == period_pk, CdrClearingRow.booked.is_(True),
                CdrClearingRow.direct.is_(False), CdrClearingRow.invoice_line_pk.is_(None),
                CdrClearingRow.state.in_((lc.ACCEPTED, lc.CREDITED)),
                or_(CdrClearingRow.credit_of_pk.is_(None), ~exists().where(
                    orig.id == CdrClearingRow.credit_of_pk, orig.invoice_line_pk.is_not(None))))


async def close_period(session: AsyncSession, period_pk: int, *, now: datetime, zone: str,
                       result: CloseResult | None = None) -> CloseResult:
    result = result if result is not None else CloseResult()
    period = await session.get(SettlementPeriodRow, period_pk, with_for_update=True)
    if period is None:
        raise NotFound(f"unknown period {period_pk}")
    if period.status == CLOSED:
        raise PeriodClosed(
            f"period {period.label} (#{period.id}) was closed at "
            f"{period.closed_at.isoformat() if period.closed_at else '?'}: it is locked; "
            "corrections go into the open period")
    agreement = await session.get(ClearingAgreementRow, period.agreement_pk)
    assert agreement is not None
    issued = local_date(now, zone)
    docs = await _invoices(session, period, agreement, issued, now)
    docs += await _credit_notes(session, period, agreement, issued, now)
    result.invoices += [d.number for d in docs if d.kind == "INVOICE"]
    result.credit_notes += [d.number for d in docs if d.kind == "CREDIT_NOTE"]
    if agreement.netting and docs:
        result.nettings += await _netting(session, period, agreement, docs, now)
    period.status, period.closed_at = CLOSED, now
    nxt = add_months(period.start, agreement.period_months)
    if (await session.scalar(select(SettlementPeriodRow.id).where(
            SettlementPeriodRow.agreement_pk == agreement.id,
            SettlementPeriodRow.start == nxt))) is None:
        session.add(SettlementPeriodRow(agreement_pk=agreement.id, label=f"{nxt:%Y-%m}",
                                        start=nxt, end=add_months(nxt, agreement.period_months),
                                        status=OPEN, created_at=now))
    await session.flush()
    result.closed.append(period.id)
    log.info("clearing.period_closed", period=period.label, period_pk=period.id,
             documents=len(docs))
    return result


async def _entity(session: AsyncSession, pk: int) -> LegalEntityRow:
    row = await session.get(LegalEntityRow, pk)
    assert row is not None
    return row


async def _new_invoice(session: AsyncSession, *, kind: str, issuer: LegalEntityRow,
                       buyer_pk: int, period: SettlementPeriodRow, currency: str,
                       issued: date, terms: int, credited: int | None, now: datetime
                       ) -> InvoiceRow:
    inv = InvoiceRow(number=await next_number(session, issuer), kind=kind, issuer_pk=issuer.id,
                     buyer_pk=buyer_pk, period_pk=period.id, credited_invoice_pk=credited,
                     currency=currency, issue_date=issued,
                     due_date=issued + timedelta(days=terms), period_start=period.start,
                     period_end=period.end - timedelta(days=1), total_net=ZERO,
                     total_vat=ZERO, total_gross=ZERO, status="ISSUED", paid_amount=ZERO,
                     created_at=now)
    session.add(inv)
    await session.flush()
    return inv


@dataclass
class Group:
    """The CDRs of one invoice line, summed exactly in Python (SQLite has no exact SUM)."""

    tax_rule: str
    vat_rate: Decimal
    vat_country: str
    ids: list[int] = field(default_factory=list)
    energy: Decimal = ZERO
    net: Decimal = ZERO
    vat: Decimal = ZERO
    count: int = 0

    def add(self, r: Any) -> None:
        self.ids.append(r.id)
        self.count += 1
        self.energy += r.energy or ZERO
        self.net += r.net
        self.vat += r.vat


DocKey = tuple[int, int, int, str]  # (credited invoice pk or 0, supplier, customer, currency)


async def _groups(session: AsyncSession, stmt: Any) -> dict[DocKey, dict[tuple[Any, ...], Group]]:
    out: dict[DocKey, dict[tuple[Any, ...], Group]] = defaultdict(dict)
    result = await session.stream(stmt.execution_options(yield_per=5000))
    async for part in result.partitions():
        for r in part:
            doc = (r.credited or 0, r.supplier_pk, r.customer_pk, r.currency)
            key = (r.tax_rule, r.vat_rate, r.vat_country)
            group = out[doc].get(key)
            if group is None:
                group = out[doc][key] = Group(r.tax_rule, r.vat_rate, r.vat_country)
            group.add(r)
    return out


COLUMNS = (CdrClearingRow.id, CdrClearingRow.supplier_pk, CdrClearingRow.customer_pk,
           CdrClearingRow.currency, CdrClearingRow.tax_rule, CdrClearingRow.vat_rate,
           CdrClearingRow.vat_country, CdrClearingRow.energy, CdrClearingRow.net,
           CdrClearingRow.vat)


async def _add_line(session: AsyncSession, inv: InvoiceRow, g: Group, sign: Decimal,
                    issuer: LegalEntityRow, no: int, now: datetime) -> None:
    """One invoice line for group ``g``; marks its CDRs and books the VAT rounding."""
    line = InvoiceLineRow(invoice_pk=inv.id, line_no=no)
    _fill_line(line, g, sign, inv.currency)
    session.add(line)
    await session.flush()
    for i in range(0, len(g.ids), 1000):
        await session.execute(update(CdrClearingRow).where(
            CdrClearingRow.id.in_(g.ids[i:i + 1000])).values(invoice_line_pk=line.id)
            .execution_options(synchronize_session=False))
    reason = f"{inv.kind.lower().replace('_', ' ')} {inv.number}"
    session.add(line_history(line.id, lc.ACCEPTED, lc.INVOICED, reason, now))
    await session.execute(update(CdrClearingRow).where(
        CdrClearingRow.period_pk == inv.period_pk,  # the index (invoice_line_pk has none)
        CdrClearingRow.invoice_line_pk == line.id, CdrClearingRow.state == lc.ACCEPTED)
        .values(state=lc.INVOICED, updated_at=now)
        .execution_options(synchronize_session=False))
    await _line_totals(session, inv, line, g, sign, issuer, no, now)


def _fill_line(line: InvoiceLineRow, g: Group, sign: Decimal, currency: str) -> None:
    """The line's figures from its CDRs' sums; VAT once on the line total (BR-CO-17)."""
    line.net = sign * g.net
    line.vat_amount = (line.net * g.vat_rate / 100).quantize(quantum(currency),
                                                             rounding=ROUND_HALF_UP)
    line.quantity, line.cdr_count = sign * g.energy, g.count
    line.tax_rule, line.vat_rate, line.vat_country = g.tax_rule, g.vat_rate, g.vat_country
    line.description = (f"EV charging {g.vat_country}, {g.count} CDR(s), {g.tax_rule} "
                        f"{g.vat_rate}%")


async def _line_totals(session: AsyncSession, inv: InvoiceRow, line: InvoiceLineRow, g: Group,
                       sign: Decimal, issuer: LegalEntityRow, no: int, now: datetime) -> None:
    """Adds the line to the invoice's totals; books the cents by which the line's VAT differs
    from its CDRs' booked VAT (a rounding adjustment)."""
    net, vat = line.net, line.vat_amount
    inv.total_net += net
    inv.total_vat += vat
    inv.total_gross += net + vat
    diff = sign * vat - g.vat
    if diff:
        side = ledger.VAT_OUTPUT if issuer.is_own else ledger.PAYABLE
        await post(session, Posting(
            f"round:{inv.number}:{no}", "ADJUSTMENT", inv.issue_date,
            f"VAT rounding of {inv.number} line {no} (VAT on the line total)",
            (dr(ledger.RECEIVABLE, inv.buyer_pk, diff, inv.currency,
                counterparty_pk=issuer.id, reference=inv.number),
             cr(side, None if issuer.is_own else issuer.id, diff, inv.currency,
                vat_country=g.vat_country, reference=inv.number)),
            period_pk=inv.period_pk).without_zero_lines().check(), now)


async def _documents(session: AsyncSession, groups: dict[DocKey, dict[tuple[Any, ...], Group]],
                     *, kind: str, period: SettlementPeriodRow,
                     agreement: ClearingAgreementRow, issued: date, now: datetime
                     ) -> list[InvoiceRow]:
    docs = []
    # Credit notes carry positive amounts (UBL CreditNote); their CDRs are negative.
    sign = Decimal(-1) if kind == "CREDIT_NOTE" else Decimal(1)
    for (credited, supplier, customer, ccy), lines in sorted(groups.items()):
        issuer = await _entity(session, supplier)
        inv = await _new_invoice(
            session, kind=kind, issuer=issuer, buyer_pk=customer, period=period,
            currency=ccy, issued=issued, terms=agreement.payment_terms_days,
            credited=credited or None, now=now)
        for no, (_, g) in enumerate(sorted(lines.items()), start=1):
            await _add_line(session, inv, g, sign, issuer, no, now)
        docs.append(inv)
    await session.flush()
    return docs


SET_BASED = True  # False: PostgreSQL too reads the CDRs (tests compare both ways)
# PostgreSQL: the period's CDRs are marked with their invoice line, moved to invoiced and
# summed per line by ONE statement for all its invoice lines, without reading them into Python
# (their history: one row per line, ``line_history``). The conditions are those of
# ``_invoiceable``; the statement sees the rows as they were before it, so an original
# invoiced by this same close still counts as not invoiced, as in the per-CDR path, which
# selects the whole period before marking any. One statement, not one per line: the
# period's rows are spread over the whole table, each pass reads most of its pages.
_MARK_PERIOD = text("""
WITH v AS (
  SELECT * FROM unnest(CAST(:lines AS INTEGER[]), CAST(:suppliers AS INTEGER[]),
    CAST(:customers AS INTEGER[]), CAST(:currencies AS TEXT[]), CAST(:rules AS TEXT[]),
    CAST(:rates AS NUMERIC[]), CAST(:countries AS TEXT[]))
    AS v(line, supplier, customer, currency, tax_rule, vat_rate, vat_country)),
u AS (
  UPDATE cdr_clearing AS c SET invoice_line_pk = v.line,
    state = CASE WHEN c.state = :accepted THEN :invoiced ELSE c.state END,
    updated_at = CASE WHEN c.state = :accepted THEN CAST(:now AS TIMESTAMPTZ)
                      ELSE c.updated_at END
  FROM v
  WHERE c.period_pk = :period AND c.booked AND NOT c.direct AND c.invoice_line_pk IS NULL
    AND c.state IN (:accepted, :credited)
    AND c.supplier_pk = v.supplier AND c.customer_pk = v.customer AND c.currency = v.currency
    AND c.tax_rule = v.tax_rule AND c.vat_rate = v.vat_rate AND c.vat_country = v.vat_country
    AND (c.credit_of_pk IS NULL OR EXISTS (
      SELECT 1 FROM cdr_clearing AS o WHERE o.id = c.credit_of_pk AND o.invoice_line_pk IS NULL))
  RETURNING v.line, c.energy, c.net, c.vat)
SELECT line, count(*), coalesce(sum(energy), 0), coalesce(sum(net), 0), coalesce(sum(vat), 0)
FROM u GROUP BY line""")


async def _invoices_sql(session: AsyncSession, period: SettlementPeriodRow,
                        agreement: ClearingAgreementRow, issued: date, now: datetime
                        ) -> list[InvoiceRow]:
    """``_invoices`` in SQL (PostgreSQL: exact NUMERIC sums): the same documents, numbers,
    lines and order; the invoices and their lines first, then one statement marks and sums
    the period's CDRs, then the lines' figures, totals and VAT roundings in line order."""
    keys = (await session.execute(
        select(CdrClearingRow.supplier_pk, CdrClearingRow.customer_pk, CdrClearingRow.currency,
               CdrClearingRow.tax_rule, CdrClearingRow.vat_rate, CdrClearingRow.vat_country)
        .where(_invoiceable(period.id))
        .group_by(CdrClearingRow.supplier_pk, CdrClearingRow.customer_pk,
                  CdrClearingRow.currency, CdrClearingRow.tax_rule, CdrClearingRow.vat_rate,
                  CdrClearingRow.vat_country))).all()
    by_doc: dict[tuple[int, int, str], list[tuple[str, Decimal, str]]] = defaultdict(list)
    for supplier, customer, ccy, rule, rate, country in keys:
        # booked CDRs have every one of these (``_invoiceable``: booked)
        assert supplier is not None and customer is not None and ccy is not None
        assert rule is not None and rate is not None and country is not None
        by_doc[(supplier, customer, ccy)].append((rule, rate, country))
    if not by_doc:
        return []
    made: list[tuple[InvoiceRow, LegalEntityRow, list[InvoiceLineRow]]] = []
    for (supplier, customer, ccy), groups in sorted(by_doc.items()):
        issuer = await _entity(session, supplier)
        inv = await _new_invoice(
            session, kind="INVOICE", issuer=issuer, buyer_pk=customer, period=period,
            currency=ccy, issued=issued, terms=agreement.payment_terms_days, credited=None,
            now=now)
        lines = [InvoiceLineRow(invoice_pk=inv.id, line_no=no, description="", quantity=ZERO,
                                cdr_count=0, net=ZERO, tax_rule=rule, vat_rate=rate,
                                vat_amount=ZERO, vat_country=country)
                 for no, (rule, rate, country) in enumerate(sorted(groups), start=1)]
        session.add_all(lines)
        await session.flush()
        made.append((inv, issuer, lines))
    flat = [(inv, line) for inv, _, lines in made for line in lines]
    sums = {line_pk: (count, energy, net, vat) for line_pk, count, energy, net, vat in (
        await session.execute(_MARK_PERIOD, {
            "lines": [x.id for _, x in flat], "suppliers": [i.issuer_pk for i, _ in flat],
            "customers": [i.buyer_pk for i, _ in flat],
            "currencies": [i.currency for i, _ in flat],
            "rules": [x.tax_rule for _, x in flat], "rates": [x.vat_rate for _, x in flat],
            "countries": [x.vat_country for _, x in flat], "accepted": lc.ACCEPTED,
            "invoiced": lc.INVOICED, "credited": lc.CREDITED, "now": now,
            "period": period.id})).all()}
    for inv, issuer, lines in made:
        for line in lines:
            session.add(line_history(line.id, lc.ACCEPTED, lc.INVOICED,
                                     f"invoice {inv.number}", now))
            count, energy, net, vat = sums.get(line.id, (0, ZERO, ZERO, ZERO))
            g = Group(line.tax_rule, line.vat_rate, line.vat_country, energy=energy, net=net,
                      vat=vat, count=count)
            _fill_line(line, g, Decimal(1), inv.currency)
            await _line_totals(session, inv, line, g, Decimal(1), issuer, line.line_no, now)
    await session.flush()
    return [inv for inv, _, _ in made]


async def _invoices(session: AsyncSession, period: SettlementPeriodRow,
                    agreement: ClearingAgreementRow, issued: date, now: datetime
                    ) -> list[InvoiceRow]:
    if SET_BASED and (await session.connection()).dialect.name == "postgresql":
        return await _invoices_sql(session, period, agreement, issued, now)
    stmt = (select(*COLUMNS, literal(0).label("credited"))
            .where(_invoiceable(period.id)))
    return await _documents(session, await _groups(session, stmt), kind="INVOICE",
                            period=period, agreement=agreement, issued=issued, now=now)


async def _credit_notes(session: AsyncSession, period: SettlementPeriodRow,
                        agreement: ClearingAgreementRow, issued: date, now: datetime
                        ) -> list[InvoiceRow]:
    orig = _orig()
    stmt = (select(*COLUMNS, InvoiceLineRow.invoice_pk.label("credited"))
            .join(orig, orig.id == CdrClearingRow.credit_of_pk)
            .join(InvoiceLineRow, InvoiceLineRow.id == orig.invoice_line_pk)
            # credit_of_pk IS NOT NULL (implied by the join): the planner starts from the
            # period's few credit CDRs, not from every CDR (invoice_line_pk has no index)
            .where(CdrClearingRow.period_pk == period.id, CdrClearingRow.credit_of_pk.is_not(None),
                   CdrClearingRow.booked.is_(True),
                   CdrClearingRow.invoice_line_pk.is_(None), CdrClearingRow.direct.is_(False),
                   CdrClearingRow.state == lc.ACCEPTED))
    return await _documents(session, await _groups(session, stmt), kind="CREDIT_NOTE",
                            period=period, agreement=agreement, issued=issued, now=now)


def owed(doc: InvoiceRow) -> Decimal:
    """What the buyer owes the issuer for ``doc`` (a credit note: negative)."""
    return -doc.total_gross if doc.kind == "CREDIT_NOTE" else doc.total_gross


async def _netting(session: AsyncSession, period: SettlementPeriodRow,
                   agreement: ClearingAgreementRow, docs: list[InvoiceRow], now: datetime
                   ) -> list[str]:
    a, b = agreement.entity_a_pk, agreement.entity_b_pk
    by_ccy: dict[str, list[InvoiceRow]] = defaultdict(list)
    for d in docs:
        by_ccy[d.currency].append(d)
    refs = []
    for ccy, items in sorted(by_ccy.items()):
        receivable = sum((owed(d) for d in items if d.issuer_pk == a), ZERO)  # b owes a
        payable = sum((owed(d) for d in items if d.issuer_pk == b), ZERO)  # a owes b
        diff = receivable - payable
        payer, payee = (b, a) if diff >= 0 else (a, b)
        ref = f"NET-{period.label}-{agreement.id}-{ccy}"
        row = NettingRow(
            reference=ref, agreement_pk=agreement.id, period_pk=period.id, currency=ccy,
            payer_pk=payer, payee_pk=payee, receivable=receivable, payable=payable,
            amount=abs(diff), invoice_numbers=[d.number for d in items], status="OPEN",
            created_at=now)
        session.add(row)
        await session.flush()
        if not diff:  # the two sides cancel out: nothing to pay, all settled by netting
            await settle_netting(session, row, now, "netted to zero")
        refs.append(ref)
    await session.flush()
    return refs


async def close_month(sm: async_sessionmaker[AsyncSession], label: str, *, now: datetime,
                      zone: str) -> CloseResult:
    """Close every OPEN period labelled ``label``, each in its own transaction; periods
    already closed are listed, not touched (a re-run is a no-op)."""
    result = CloseResult()
    async with transaction(sm) as session:
        rows = (await session.execute(select(SettlementPeriodRow.id, SettlementPeriodRow.status)
                                      .where(SettlementPeriodRow.label == label)
                                      .order_by(SettlementPeriodRow.id))).all()
    for pk, status in rows:
        if status == CLOSED:
            result.already_closed.append(pk)
            continue
        try:
            async with transaction(sm) as session:
                await close_period(session, pk, now=now, zone=zone, result=result)
        except PeriodClosed:  # closed meanwhile by another run (the row lock made us wait)
            result.already_closed.append(pk)
    async with transaction(sm) as session:  # issue 6: per-charge-point fees of the month
        result.monthly_fees = await book_monthly_fees(session, label, now)
    async with transaction(sm) as session:
        await check_integrity(session, label, [pk for pk, _ in rows], now, result)
    async with transaction(sm) as session:
        session.add(ClearingRunRow(kind="CLOSE", period=label, started_at=now,
                                   finished_at=datetime.now(now.tzinfo),
                                   counts=result.json()))
    return result


async def check_integrity(session: AsyncSession, label: str, period_pks: list[int],
                          now: datetime, result: CloseResult) -> None:
    """``integrity.verify`` on the periods' rows (they have no foreign keys): each kind of
    problem found is an ``INTEGRITY`` exception for finance (the close stands); a kind no
    longer found resolves its exception."""
    report = await integrity.verify(session, period_pks)
    result.integrity = report.json()
    for f in report.findings:
        log.warning("clearing.integrity", period=label, kind=f.kind, count=f.count,
                    ids=f.ids)
        await raise_exception(session, f"integrity:{label}:{f.kind}", "INTEGRITY",
                              f"period {label}: {f.message}", now)
    found = {f.kind for f in report.findings}
    await resolve_exceptions(session, [f"integrity:{label}:{k}" for k in integrity.KINDS
                                       if k not in found], now)
