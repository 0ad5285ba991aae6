"""Payments: settling invoices and netting instructions, and matching bank statement lines.

A bank line (camt.053 entry, ``clearing.finance.sepa.parse_camt053``) is matched by reference
first: an open netting reference or invoice number found in its remittance information or
end-to-end id, with the same amount and currency. Without a reference, an amount that equals
exactly one open item matches it; equal to several is AMBIGUOUS, to none UNMATCHED. Unmatched
and ambiguous lines become exceptions for finance. Partial payments are not matched (they are
exceptions). Lines are keyed by their entry reference, so importing a statement again books
nothing twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.finance.documents import BankLine
from clearing.house import ledger
from clearing.house import lifecycle as lc
from clearing.house.ledger import Posting, cr, dr
from clearing.house.store import line_history, post, raise_exception
from hub.db.models_clearing import (
    BankLineRow,
    CdrClearingRow,
    InvoiceLineRow,
    InvoiceRow,
    NettingRow,
)
from hub.db.models_clearing_ref import LegalEntityRow

ZERO = Decimal(0)


async def settle_invoice(session: AsyncSession, inv: InvoiceRow, now: datetime,
                         reference: str) -> bool:
    """Mark ``inv`` paid, its CDRs settled, and book the payment; False if already paid."""
    if inv.status == "PAID":
        return False
    inv.status, inv.paid_amount = "PAID", inv.total_gross
    line_pks = (await session.scalars(select(InvoiceLineRow.id).where(
        InvoiceLineRow.invoice_pk == inv.id).order_by(InvoiceLineRow.id))).all()
    for line_pk in line_pks:  # one history row per line, not per CDR
        session.add(line_history(line_pk, lc.INVOICED, lc.SETTLED, f"paid: {reference}", now))
    if line_pks:
        await session.execute(update(CdrClearingRow).where(
            CdrClearingRow.period_pk == inv.period_pk,  # the index (invoice_line_pk has none)
            CdrClearingRow.invoice_line_pk.in_(line_pks), CdrClearingRow.state == lc.INVOICED)
            .values(state=lc.SETTLED, updated_at=now)
            .execution_options(synchronize_session=False))
    issuer = await session.get(LegalEntityRow, inv.issuer_pk)
    assert issuer is not None
    amount = -inv.total_gross if inv.kind == "CREDIT_NOTE" else inv.total_gross
    account = ledger.BANK if issuer.is_own else ledger.PAYABLE
    if amount:
        await post(session, Posting(
            f"pay:{inv.number}", "PAYMENT", now.date(), f"{inv.number} settled: {reference}",
            (dr(account, issuer.id, amount, inv.currency, counterparty_pk=inv.buyer_pk,
                reference=reference[:64]),
             cr(ledger.RECEIVABLE, inv.buyer_pk, amount, inv.currency,
                counterparty_pk=issuer.id, reference=inv.number)),
            period_pk=inv.period_pk).check(), now)
    await session.flush()
    return True


async def settle_netting(session: AsyncSession, net: NettingRow, now: datetime,
                         reference: str) -> None:
    net.status = "PAID"
    for inv in (await session.scalars(select(InvoiceRow).where(
            InvoiceRow.number.in_(net.invoice_numbers)))).all():
        await settle_invoice(session, inv, now, f"netting {net.reference} ({reference})")


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"imported": self.imported, "duplicates": self.duplicates,
                "matched": self.matched, "unmatched": self.unmatched,
                "ambiguous": self.ambiguous}


def entry_key(line: BankLine) -> str:
    if line.entry_reference:
        return line.entry_reference[:128]
    digest = hashlib.sha256("|".join(str(x) for x in (
        line.booking_date, line.amount, line.currency, line.credit, line.remittance_info,
        line.end_to_end_id, line.counterparty_iban)).encode()).hexdigest()
    return f"sha256:{digest[:48]}"


def _mentions(text: str, ref: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(ref)}(?![\w-])", text) is not None


async def import_bank_lines(session: AsyncSession, lines: Sequence[BankLine], now: datetime
                            ) -> ImportResult:
    result = ImportResult()
    for line in lines:
        key = entry_key(line)
        if (await session.scalar(select(BankLineRow.id).where(
                BankLineRow.entry_reference == key))) is not None:
            result.duplicates += 1
            continue
        status, target, why = await _match(session, line)
        row = BankLineRow(entry_reference=key, booking_date=line.booking_date,
                          amount=line.amount, currency=line.currency.upper(),
                          credit=line.credit, remittance_info=line.remittance_info,
                          end_to_end_id=line.end_to_end_id,
                          counterparty_iban=line.counterparty_iban, status=status,
                          imported_at=now)
        if isinstance(target, NettingRow):
            row.netting_pk = target.id
            await settle_netting(session, target, now, f"bank {key}")
        elif isinstance(target, InvoiceRow):
            row.invoice_pk = target.id
            await settle_invoice(session, target, now, f"bank {key}")
        session.add(row)
        await session.flush()
        result.imported += 1
        if status == "MATCHED":
            result.matched += 1
        else:
            (result.ambiguous if status == "AMBIGUOUS" else result.unmatched).append(key)
            await raise_exception(session, f"bank:{key}", f"BANK_{status}",
                                  f"bank line {key} ({line.amount} {line.currency}, "
                                  f"{line.remittance_info or 'no reference'}): {why}", now,
                                  bank_line_pk=row.id)
    return result


async def _match(session: AsyncSession, line: BankLine
                 ) -> tuple[str, NettingRow | InvoiceRow | None, str]:
    ccy = line.currency.upper()
    text = " ".join(x for x in (line.remittance_info, line.end_to_end_id) if x)
    open_items: list[tuple[str, Decimal, NettingRow | InvoiceRow]] = []
    for n in (await session.scalars(select(NettingRow).where(
            NettingRow.status == "OPEN", NettingRow.currency == ccy))).all():
        open_items.append((n.reference, n.amount, n))
    for inv in (await session.scalars(select(InvoiceRow).where(
            InvoiceRow.status == "ISSUED", InvoiceRow.kind == "INVOICE",
            InvoiceRow.currency == ccy))).all():
        open_items.append((inv.number, inv.total_gross - inv.paid_amount, inv))
    named = [(ref, amount, item) for ref, amount, item in open_items if _mentions(text, ref)]
    if named:
        same = [item for _, amount, item in named if amount == line.amount]
        if len(same) == 1:
            return "MATCHED", same[0], "by reference and amount"
        refs = ", ".join(ref for ref, _, _ in named)
        if not same:
            return "UNMATCHED", None, f"names {refs} but the amount differs"
        return "AMBIGUOUS", None, f"names several open items with that amount: {refs}"
    by_amount = [(ref, item) for ref, amount, item in open_items if amount == line.amount]
    if len(by_amount) == 1:
        return "MATCHED", by_amount[0][1], "by amount"
    if not by_amount:
        return "UNMATCHED", None, "matches no open invoice or netting"
    return "AMBIGUOUS", None, ("the amount matches several open items: "
                               + ", ".join(ref for ref, _ in by_amount))
