"""Finance documents (``clearing.finance.documents``) built from the stored clearing data:
invoices and credit notes, statements per counterparty, owner remittances, payment batches and
the VAT summary. Every statement line names its CDR (``reference``) and the invoice it is on;
every invoice line lists the CDR ids behind it (``references``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.entities import legal_party
from clearing.finance.documents import (
    Invoice,
    InvoiceLine,
    LegalParty,
    Remittance,
    RemittanceLine,
    Statement,
    StatementLine,
    VatBreakdown,
)
from clearing.house import ledger
from clearing.house import lifecycle as lc
from clearing.house.monthly import entry_prefix
from clearing.house.periods import add_months, parse_label
from hub.db.models import CdrRow
from hub.db.models_clearing import (
    CdrClearingRow,
    InvoiceLineRow,
    InvoiceRow,
    JournalEntryRow,
    JournalLineRow,
    NettingRow,
    SettlementPeriodRow,
)
from hub.db.models_clearing_ref import LegalEntityRow

ZERO = Decimal(0)
EXEMPTION = {"REVERSE_CHARGE": ("Reverse charge", "VATEX-EU-AE"),
             "OUT_OF_SCOPE": ("Not subject to VAT", "VATEX-EU-O"),
             "EXEMPT": ("Exempt from VAT", None)}


async def _party(session: AsyncSession, pk: int) -> LegalParty:
    row = await session.get(LegalEntityRow, pk)
    assert row is not None
    return legal_party(row)


async def invoice_document(session: AsyncSession, inv: InvoiceRow) -> Invoice:
    lines = (await session.scalars(select(InvoiceLineRow).where(
        InvoiceLineRow.invoice_pk == inv.id).order_by(InvoiceLineRow.line_no))).all()
    refs: dict[int | None, list[str]] = defaultdict(list)
    for line_pk, cdr_id in (await session.execute(
            select(CdrClearingRow.invoice_line_pk, CdrRow.cdr_id)
            .join(CdrRow, CdrRow.id == CdrClearingRow.cdr_pk)
            # by the invoice's period: invoice_line_pk has no index of its own (HOT updates)
            .where(CdrClearingRow.period_pk == inv.period_pk,
                   CdrClearingRow.invoice_line_pk.in_([x.id for x in lines]))
            .order_by(CdrRow.id))).all():
        refs[line_pk].append(cdr_id)
    # One unit per line (C62) at the line's net: the kWh are in the description, so that
    # quantity x price = line amount exactly (Peppol R120) whatever the per-kWh prices were.
    doc_lines = tuple(InvoiceLine(
        line_id=str(x.line_no), description=f"{x.description}, {x.quantity} kWh",
        quantity=Decimal(1), unit="C62", unit_price=x.net, net_amount=x.net,
        tax_rule=x.tax_rule, vat_rate=x.vat_rate, vat_amount=x.vat_amount,  # type: ignore[arg-type]
        vat_country=x.vat_country, references=tuple(refs[x.id])) for x in lines)
    breakdown: dict[tuple[str, Decimal], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for x in lines:
        acc = breakdown[(x.tax_rule, x.vat_rate)]
        acc[0] += x.net
        acc[1] += x.vat_amount
    credited = await session.get(InvoiceRow, inv.credited_invoice_pk) \
        if inv.credited_invoice_pk else None
    period = await session.get(SettlementPeriodRow, inv.period_pk)
    return Invoice(
        kind=inv.kind, number=inv.number, issue_date=inv.issue_date,  # type: ignore[arg-type]
        due_date=inv.due_date, period_start=inv.period_start, period_end=inv.period_end,
        seller=await _party(session, inv.issuer_pk), buyer=await _party(session, inv.buyer_pk),
        currency=inv.currency, lines=doc_lines,
        vat_breakdown=tuple(VatBreakdown(
            tax_rule=rule, vat_rate=rate, taxable_amount=t, vat_amount=v,  # type: ignore[arg-type]
            exemption_reason=EXEMPTION.get(rule, (None, None))[0],
            exemption_reason_code=EXEMPTION.get(rule, (None, None))[1])
            for (rule, rate), (t, v) in sorted(breakdown.items())),
        total_net=inv.total_net, total_vat=inv.total_vat, total_gross=inv.total_gross,
        credited_number=credited.number if credited else None,
        credited_issue_date=credited.issue_date if credited else None,
        buyer_reference=f"clearing agreement {period.agreement_pk}" if period else None,
        note=f"Clearing period {period.label}" if period else None)


async def period_pks(session: AsyncSession, label: str) -> list[int]:
    return list((await session.scalars(select(SettlementPeriodRow.id).where(
        SettlementPeriodRow.label == label))).all())


async def _span(session: AsyncSession, label: str, pks: list[int]) -> tuple[date, date]:
    """First and last day (inclusive) of the periods labelled ``label``."""
    period = (await session.scalars(select(SettlementPeriodRow).where(
        SettlementPeriodRow.id.in_(pks)).limit(1))).first()
    start = parse_label(label)
    end = period.end if period else add_months(start, 1)
    return start, end - timedelta(days=1)


async def statements(session: AsyncSession, label: str, entity_pk: int) -> list[Statement]:
    """One statement per counterparty of ``entity_pk`` in the periods labelled ``label``:
    + receivable from the counterparty (the entity supplied), - payable to it."""
    pks = await period_pks(session, label)
    me = await _party(session, entity_pk)
    rows = (await session.execute(
        select(CdrClearingRow, CdrRow.cdr_id, CdrRow.end_date_time, InvoiceRow.number)
        .join(CdrRow, CdrRow.id == CdrClearingRow.cdr_pk)
        .outerjoin(InvoiceLineRow, InvoiceLineRow.id == CdrClearingRow.invoice_line_pk)
        .outerjoin(InvoiceRow, InvoiceRow.id == InvoiceLineRow.invoice_pk)
        .where(CdrClearingRow.period_pk.in_(pks), CdrClearingRow.direct.is_(False),
               CdrClearingRow.state.in_((lc.ACCEPTED, lc.INVOICED, lc.SETTLED, lc.CREDITED)),
               or_(CdrClearingRow.supplier_pk == entity_pk,
                   CdrClearingRow.customer_pk == entity_pk))
        .order_by(CdrRow.end_date_time, CdrRow.id))).all()
    lines: dict[tuple[int, str], list[StatementLine]] = defaultdict(list)
    for cc, cdr_id, end, number in rows:
        if not cc.booked and cc.state == lc.CREDITED:
            continue  # written off in a dispute: never booked, never invoiced
        sign = Decimal(1) if cc.supplier_pk == entity_pk else Decimal(-1)
        net, vat = cc.net or ZERO, cc.vat or ZERO
        other = (cc.customer_pk if sign == 1 else cc.supplier_pk) or 0
        lines[(other, cc.currency or "EUR")].append(StatementLine(
            booked_on=end.date(), kind="CREDIT" if cc.credit_of_pk else "CDR",
            reference=cdr_id, description=(f"{'credit ' if cc.credit_of_pk else ''}charging "
                                           f"{cc.vat_country}" + (f", {number}" if number
                                                                  else ", not invoiced yet")),
            currency=cc.currency or "EUR", net_amount=sign * net, vat_amount=sign * vat,
            gross_amount=sign * (net + vat), energy_kwh=cc.energy,
            tax_rule=cc.tax_rule, vat_rate=cc.vat_rate))  # type: ignore[arg-type]
    start, end_incl = await _span(session, label, pks)
    opening = await _open_items_before(session, entity_pk, start)
    out = []
    for key in sorted(set(lines) | set(opening)):
        other, ccy = key
        items = lines.get(key, [])
        brought = opening.get(key, ZERO)
        total = brought + sum((x.gross_amount for x in items), ZERO)
        out.append(Statement(issuer=me, counterparty=await _party(session, other),
                             period_start=start, period_end=end_incl, currency=ccy,
                             opening_balance=brought, lines=tuple(items),
                             closing_balance=total, title=f"Clearing statement {label}"))
    return out


async def _open_items_before(session: AsyncSession, entity_pk: int, start: date
                             ) -> dict[tuple[int, str], Decimal]:
    """The opening balance per counterparty and currency: CDRs of earlier periods booked but
    not settled yet (accepted or invoiced, not paid or netted), + receivable, - payable."""
    rows = (await session.execute(
        select(CdrClearingRow.supplier_pk, CdrClearingRow.customer_pk, CdrClearingRow.currency,
               CdrClearingRow.net, CdrClearingRow.vat)
        .join(SettlementPeriodRow, SettlementPeriodRow.id == CdrClearingRow.period_pk)
        .where(SettlementPeriodRow.start < start, CdrClearingRow.direct.is_(False),
               CdrClearingRow.booked.is_(True),
               CdrClearingRow.state.in_((lc.ACCEPTED, lc.INVOICED)),
               or_(CdrClearingRow.supplier_pk == entity_pk,
                   CdrClearingRow.customer_pk == entity_pk)))).all()
    out: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for supplier, customer, currency, net, vat in rows:
        sign = Decimal(1) if supplier == entity_pk else Decimal(-1)
        other = (customer if sign == 1 else supplier) or 0
        out[(other, currency or "EUR")] += sign * ((net or ZERO) + (vat or ZERO))
    return {k: v for k, v in out.items() if v}


async def remittances(session: AsyncSession, label: str, payer_pk: int) -> list[Remittance]:
    """Owner remittances of our own sessions in ``label``: per location, revenue (what the
    customer owes, VAT included) minus every other part = the owner's payout."""
    pks = await period_pks(session, label)
    q = (select(JournalEntryRow.id, CdrRow.location, JournalLineRow)
         .join(JournalLineRow, JournalLineRow.entry_pk == JournalEntryRow.id)
         .join(CdrRow, CdrRow.id == JournalEntryRow.cdr_pk)
         .join(CdrClearingRow, CdrClearingRow.cdr_pk == CdrRow.id)
         .where(JournalEntryRow.period_pk.in_(pks), CdrClearingRow.supplier_pk == payer_pk,
                CdrClearingRow.booked.is_(True)))
    by_entry: dict[int, tuple[str, list[JournalLineRow]]] = {}
    for entry_pk, location, line in (await session.execute(q)).all():
        loc = str((location or {}).get("id") or "?")
        by_entry.setdefault(entry_pk, (loc, []))[1].append(line)
    acc: dict[tuple[int, str, str], dict[str, Any]] = {}
    for loc, lines in by_entry.values():
        owners = [x for x in lines if x.role == "OWNER" and x.account in (
            ledger.SPLIT_PAYABLE, ledger.REVENUE) and x.entity_pk != payer_pk]
        if not owners:
            continue
        owner = owners[0].entity_pk or 0
        revenue = sum((x.debit - x.credit for x in lines if x.account in (
            ledger.RECEIVABLE, ledger.DRIVER_RECEIVABLE)), ZERO)
        a = acc.setdefault((owner, lines[0].currency, loc), {
            "sessions": 0, "revenue": ZERO, "fees": defaultdict(lambda: ZERO),
            "payout": ZERO})
        a["sessions"] += 1 if revenue >= 0 else -1
        a["revenue"] += revenue
        for x in lines:
            if x.credit - x.debit and x.account not in (ledger.RECEIVABLE,
                                                        ledger.DRIVER_RECEIVABLE):
                if x in owners:
                    a["payout"] += x.credit - x.debit
                else:
                    a["fees"][x.role or x.account] += x.credit - x.debit
    grouped: dict[tuple[int, str], list[RemittanceLine]] = defaultdict(list)
    for (owner, ccy, loc), a in sorted(acc.items()):
        grouped[(owner, ccy)].append(RemittanceLine(
            reference=loc, description=f"location {loc}", sessions=a["sessions"],
            energy_kwh=ZERO, revenue=a["revenue"], fees=tuple(sorted(a["fees"].items())),
            payout=a["payout"]))
    for (owner, ccy), line in await _monthly_fee_lines(session, label, payer_pk):
        grouped[(owner, ccy)].append(line)
    start, end_incl = await _span(session, label, pks)
    out = []
    for (owner, ccy), items in sorted(grouped.items()):
        out.append(Remittance(
            payer=await _party(session, payer_pk), owner=await _party(session, owner),
            period_start=start, period_end=end_incl,
            currency=ccy, lines=tuple(items),
            total_payout=sum((x.payout for x in items), ZERO)))
    return out


async def _monthly_fee_lines(session: AsyncSession, label: str, payer_pk: int
                             ) -> list[tuple[tuple[int, str], RemittanceLine]]:
    """The month's per-charge-point fees (clearing.house.monthly) as remittance lines, on the
    remittances our own entity pays: each fee is deducted from the owner's payout."""
    payer = await session.get(LegalEntityRow, payer_pk)
    if payer is None or not payer.is_own:
        return []
    rows = (await session.execute(
        select(JournalEntryRow.description, JournalLineRow)
        .join(JournalLineRow, JournalLineRow.entry_pk == JournalEntryRow.id)
        .where(JournalEntryRow.key.like(f"{entry_prefix(label)}%"))
        .order_by(JournalEntryRow.id, JournalLineRow.id))).all()
    out = []
    for description, line in rows:
        if line.role == "OWNER" and line.account == ledger.SPLIT_PAYABLE and line.debit:
            fee = line.debit
            role = description.split(" ", 1)[0]
            out.append(((line.entity_pk or 0, line.currency), RemittanceLine(
                reference="monthly fees", description=description[:200], sessions=0,
                energy_kwh=ZERO, revenue=ZERO, fees=((role, fee),), payout=-fee)))
    return out


async def nettings_to_pay(session: AsyncSession, label: str, payer_pk: int
                          ) -> list[NettingRow]:
    pks = await period_pks(session, label)
    return list((await session.scalars(select(NettingRow).where(
        NettingRow.period_pk.in_(pks), NettingRow.payer_pk == payer_pk,
        NettingRow.status == "OPEN", NettingRow.amount > 0).order_by(NettingRow.id))).all())
