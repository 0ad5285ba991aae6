"""Export the finance files of one period label and legal entity into a directory
(``hub clearing export``), through the writers of ``clearing.finance``:

    statements-<period>-<entity>.xlsx             one sheet per counterparty
    statement-<period>-<entity>-<counterparty>-<ccy>.csv
    invoices/<number>.pdf, invoices/<number>.xml  each invoice and credit note it issued
                                                  (UBL validated; problems are reported)
    remittance-<period>-<owner>-<ccy>.{csv,xlsx,pdf}  owners of our own sessions
    pain001-<period>-<entity>.xml                 what it pays (nettings, owner payouts; EUR)
    vat-summary-<period>-<entity>.csv             per VAT country, rate and rule
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.entities import get_entity, legal_party
from clearing.finance import pdf, sepa, statements, ubl
from clearing.finance.documents import PaymentBatch, Payout, VatSummaryRow
from clearing.house.documents import (
    invoice_document,
    nettings_to_pay,
    period_pks,
    remittances,
)
from clearing.house.documents import statements as build_statements
from hub.db.models_clearing import CdrClearingRow, InvoiceRow
from hub.db.models_clearing_ref import LegalEntityRow


@dataclass
class ExportResult:
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"files": sorted(self.files), "problems": self.problems}

    def write(self, out: Path) -> None:
        """Blocking: call through ``asyncio.to_thread`` from async code."""
        for name, data in self.files.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _sepa_id(text: str) -> str:
    """An id a bank accepts in pain.001 (SEPA Latin subset without spaces), at most 35."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-./" else "-"
                   for c in text)[:35]


async def export_period(session: AsyncSession, label: str, entity_code: str, now: datetime
                        ) -> ExportResult:
    """The files in memory (``ExportResult.write`` puts them in a directory)."""
    entity = await get_entity(session, entity_code)
    res = ExportResult()

    def write(name: str, data: bytes) -> None:
        res.files[name] = data

    tag = f"{label}-{_safe(entity.code)}"
    sts = await build_statements(session, label, entity.id)
    if sts:
        write(f"statements-{tag}.xlsx", statements.statements_xlsx(sts))
    for st in sts:
        write(f"statement-{tag}-{_safe(st.counterparty.name)}-{st.currency}.csv",
              statements.statement_csv(st))
    pks = await period_pks(session, label)
    docs = (await session.scalars(select(InvoiceRow).where(
        InvoiceRow.period_pk.in_(pks), InvoiceRow.issuer_pk == entity.id)
        .order_by(InvoiceRow.id))).all()
    issued = []
    for inv in docs:
        doc = await invoice_document(session, inv)
        issued.append(doc)
        write(f"invoices/{_safe(inv.number)}.pdf", pdf.invoice_pdf(doc))
        xml = ubl.invoice_ubl(doc)
        res.problems += [f"{inv.number}: {p}" for p in ubl.validate_ubl(xml)]
        write(f"invoices/{_safe(inv.number)}.xml", xml)
    payouts: list[Payout] = []
    for r in await remittances(session, label, entity.id):
        name = f"remittance-{tag}-{_safe(r.owner.name)}-{r.currency}"
        write(f"{name}.csv", statements.remittance_csv(r))
        write(f"{name}.xlsx", statements.remittance_xlsx(r))
        write(f"{name}.pdf", pdf.remittance_pdf(r))
        if r.total_payout > 0 and r.currency == "EUR" and r.owner.iban:
            payouts.append(Payout(_sepa_id(f"REM-{tag}-{len(payouts) + 1}"), r.owner,
                                  r.total_payout, r.currency, f"Remittance {label}"))
    for n in await nettings_to_pay(session, label, entity.id):
        payee = await session.get(LegalEntityRow, n.payee_pk)
        if payee is not None and payee.iban and n.currency == "EUR":
            info = f"{n.reference} " + " ".join(n.invoice_numbers)
            payouts.append(Payout(n.reference, legal_party(payee), n.amount, n.currency,
                                  info[:140]))
    if payouts:
        if not entity.iban:
            res.problems.append(f"{entity.code}: no IBAN, no payment file")
        else:
            batch = PaymentBatch(_sepa_id(f"PAY-{tag}"), now, now.date(), legal_party(entity),
                                 tuple(payouts))
            xml = sepa.pain001(batch)
            res.problems += [f"pain.001: {p}" for p in sepa.validate_pain001(xml)]
            write(f"pain001-{tag}.xml", xml)
    rows = statements.vat_summary(issued) + await _direct_sales_vat(session, pks, entity.id)
    write(f"vat-summary-{tag}.csv", statements.vat_summary_csv(rows))
    return res


async def _direct_sales_vat(session: AsyncSession, pks: list[int], entity_pk: int
                            ) -> list[VatSummaryRow]:
    """Output VAT of sales to drivers (no invoice between entities), from the rated CDRs."""
    acc: dict[tuple[str, Decimal, str, str], list[Any]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), 0])
    for cc in (await session.scalars(select(CdrClearingRow).where(
            CdrClearingRow.period_pk.in_(pks), CdrClearingRow.direct.is_(True),
            CdrClearingRow.booked.is_(True), CdrClearingRow.supplier_pk == entity_pk))).all():
        a = acc[(cc.vat_country or "", cc.vat_rate or Decimal(0), cc.tax_rule or "",
                 cc.currency or "")]
        a[0] += cc.net or 0
        a[1] += cc.vat or 0
        a[2] += 1
    return [VatSummaryRow(vat_country=c, vat_rate=r, tax_rule=rule,  # type: ignore[arg-type]
                          currency=ccy, taxable_amount=a[0], vat_amount=a[1], lines=a[2])
            for (c, r, rule, ccy), a in sorted(acc.items())]
