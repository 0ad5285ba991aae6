"""ORM models of the clearing house (issue 6, migration 0013).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.

The rules live in ``clearing.house`` (state table, ledger, periods, numbering); these rows only
keep their results. Amounts of ledger lines and invoices are in the line's currency, rounded
to its minor unit; a converted line also keeps the original amount, the rate and its date.

The high-volume rows (a clearing row, a history row, a journal entry and two or three ledger
lines per CDR: millions a month) have no foreign keys since migration 0017: they are written
by one code path in one transaction per batch, and ``clearing.house.integrity.verify`` (run at
every close, and by ``hub clearing verify``) finds orphans and unbalanced entries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import ExactDecimal, UTCDateTime

LINE_ROWS = text("invoice_line_pk IS NOT NULL")  # history rows of whole invoice lines


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClearingAgreementRow(Base):
    """The terms between two legal entities (stored once per unordered pair, a < b)."""

    __tablename__ = "clearing_agreements"
    __table_args__ = (UniqueConstraint("entity_a_pk", "entity_b_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_a_pk: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"), index=True)
    entity_b_pk: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"), index=True)
    b2b_vat_option: Mapped[str] = mapped_column(String(24), default="REVERSE_CHARGE")
    settlement_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    period_months: Mapped[int] = mapped_column(Integer, default=1)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    netting: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SettlementPeriodRow(Base):
    """One settlement period of an agreement: [start, end) in calendar dates."""

    __tablename__ = "settlement_periods"
    __table_args__ = (UniqueConstraint("agreement_pk", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_pk: Mapped[int] = mapped_column(
        ForeignKey("clearing_agreements.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(16))  # YYYY-MM of its first month
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)  # exclusive
    status: Mapped[str] = mapped_column(String(16), default="OPEN", index=True)  # OPEN | CLOSED
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CdrClearingRow(Base):
    """Where one CDR stands in clearing (``clearing.house.lifecycle``) and its rated figures."""

    __tablename__ = "cdr_clearing"
    # No index on state nor invoice_line_pk (migration 0017): the close's update of them is a
    # HOT update on PostgreSQL (fillfactor 60); an invoice line's CDRs are found by
    # ``period_pk`` (the invoice's period) + ``invoice_line_pk``.

    id: Mapped[int] = mapped_column(primary_key=True)
    # High-volume rows without foreign keys (migration 0017): cdrs.id, settlement_periods.id,
    # legal_entities.id, clearing_invoice_lines.id; ``clearing.house.integrity`` checks them.
    cdr_pk: Mapped[int] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(16))
    period_pk: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    supplier_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    customer_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    credit_of_pk: Mapped[int | None] = mapped_column(ForeignKey("cdr_clearing.id"), nullable=True)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # True while its booking stands (accepted, invoiced, settled; a credited original too).
    booked: Mapped[bool] = mapped_column(default=False)
    direct: Mapped[bool] = mapped_column(default=False)  # sold to a driver, not to an eMSP
    energy: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    net: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    tax_rule: Mapped[str | None] = mapped_column(String(16), nullable=True)
    vat_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    vat_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    invoice_line_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CdrTransitionRow(Base):
    """History: every state change of a CDR in clearing. A row is about one CDR
    (``clearing_pk``) or, written by a close or a payment, about every CDR of an invoice line
    that was in ``from_state`` then (``invoice_line_pk``; ``queries.cdr_state`` shows it)."""

    __tablename__ = "cdr_transitions"
    __table_args__ = (
        Index(
            "ix_cdr_transitions_invoice_line_pk",
            "invoice_line_pk",
            postgresql_where=LINE_ROWS,
            sqlite_where=LINE_ROWS,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # cdr_clearing.id, without a foreign key (migration 0017; ``clearing.house.integrity``)
    clearing_pk: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    invoice_line_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClearingExceptionRow(Base):
    """An item finance must look at: a failed check, an unmatched bank line, ... (never lost)."""

    __tablename__ = "clearing_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotent re-runs
    kind: Mapped[str] = mapped_column(String(32), index=True)
    cdr_pk: Mapped[int | None] = mapped_column(ForeignKey("cdrs.id"), nullable=True)
    bank_line_pk: Mapped[int | None] = mapped_column(
        ForeignKey("clearing_bank_lines.id"), nullable=True
    )
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="OPEN", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DisputeRow(Base):
    """A dispute about one CDR: OPEN -> ANSWERED -> RESOLVED (ACCEPT or CREDIT)."""

    __tablename__ = "clearing_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    clearing_pk: Mapped[int] = mapped_column(
        ForeignKey("cdr_clearing.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="OPEN", index=True)
    reason: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JournalEntryRow(Base):
    """A balanced double-entry booking; ``key`` makes re-posting the same cause impossible."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    # settlement_periods.id, cdrs.id: without foreign keys (migration 0017)
    period_pk: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # CDR | REVERSAL | PAYMENT | NETTING | ADJUSTMENT
    booked_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    cdr_pk: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JournalLineRow(Base):
    __tablename__ = "journal_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    # journal_entries.id, legal_entities.id: without foreign keys (migration 0017)
    entry_pk: Mapped[int] = mapped_column(Integer, index=True)
    account: Mapped[str] = mapped_column(String(32))
    entity_pk: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    counterparty_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    debit: Mapped[Decimal] = mapped_column(ExactDecimal)
    credit: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    role: Mapped[str | None] = mapped_column(String(24), nullable=True)
    tax_rule: Mapped[str | None] = mapped_column(String(16), nullable=True)
    vat_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    vat_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    original_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    original_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    fx_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    fx_rate_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    fx_rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)  # CDR/invoice/payment


class InvoiceCounterRow(Base):
    """The last number an issuer used (gapless: locked and incremented with the invoice)."""

    __tablename__ = "invoice_counters"

    issuer_pk: Mapped[int] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class InvoiceRow(Base):
    __tablename__ = "clearing_invoices"
    __table_args__ = (UniqueConstraint("issuer_pk", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(48), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # INVOICE | CREDIT_NOTE
    issuer_pk: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    buyer_pk: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"), index=True)
    period_pk: Mapped[int] = mapped_column(ForeignKey("settlement_periods.id"), index=True)
    credited_invoice_pk: Mapped[int | None] = mapped_column(
        ForeignKey("clearing_invoices.id"), nullable=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    total_net: Mapped[Decimal] = mapped_column(ExactDecimal)
    total_vat: Mapped[Decimal] = mapped_column(ExactDecimal)
    total_gross: Mapped[Decimal] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(16), default="ISSUED")  # ISSUED | PAID
    paid_amount: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvoiceLineRow(Base):
    __tablename__ = "clearing_invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_pk: Mapped[int] = mapped_column(
        ForeignKey("clearing_invoices.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)  # kWh
    cdr_count: Mapped[int] = mapped_column(Integer, default=0)
    net: Mapped[Decimal] = mapped_column(ExactDecimal)
    tax_rule: Mapped[str] = mapped_column(String(16))
    vat_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    vat_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    vat_country: Mapped[str] = mapped_column(String(2))


class NettingRow(Base):
    """One payment instruction for a period, pair of entities and currency."""

    __tablename__ = "clearing_nettings"
    __table_args__ = (UniqueConstraint("reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(35))
    agreement_pk: Mapped[int] = mapped_column(ForeignKey("clearing_agreements.id"))
    period_pk: Mapped[int] = mapped_column(ForeignKey("settlement_periods.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    payer_pk: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    payee_pk: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    receivable: Mapped[Decimal] = mapped_column(ExactDecimal)  # of entity a from b
    payable: Mapped[Decimal] = mapped_column(ExactDecimal)  # of entity a to b
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)  # payer -> payee, >= 0
    invoice_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="OPEN")  # OPEN | PAID
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankLineRow(Base):
    """An imported camt.053 entry and what it matched (``entry_reference`` makes re-imports
    idempotent)."""

    __tablename__ = "clearing_bank_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_reference: Mapped[str] = mapped_column(String(128), unique=True)
    booking_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    credit: Mapped[bool] = mapped_column()
    remittance_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_to_end_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    counterparty_iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # MATCHED | UNMATCHED | AMBIGUOUS
    invoice_pk: Mapped[int | None] = mapped_column(
        ForeignKey("clearing_invoices.id"), nullable=True
    )
    netting_pk: Mapped[int | None] = mapped_column(
        ForeignKey("clearing_nettings.id"), nullable=True
    )
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClearingRunRow(Base):
    """One run, close or export: when, what and the counts (shown by the admin API)."""

    __tablename__ = "clearing_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # RUN | CLOSE | EXPORT | BANK
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
