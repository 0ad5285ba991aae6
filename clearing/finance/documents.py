"""The data of finance documents, independent of any file format and of the database.

The ledger (``clearing.ledger``) builds these from booked lines; the writers in this package
turn them into files. Amounts are ``Decimal`` in the document's currency, already rounded to
the currency's minor unit; dates are calendar dates (invoices) or aware UTC datetimes (bank).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

DocumentKind = Literal["INVOICE", "CREDIT_NOTE"]
# How VAT applies to a line (issue 6 item 2); maps to UBL/Peppol tax category codes
# S (standard), AE (reverse charge), E (exempt), O (outside scope).
TaxRule = Literal["DOMESTIC_VAT", "REVERSE_CHARGE", "EXEMPT", "OUT_OF_SCOPE"]


@dataclass(frozen=True)
class LegalParty:
    """A legal entity on a document: issuer, customer, payee or payer."""

    name: str
    country: str  # ISO 3166-1 alpha-2
    vat_id: str | None = None
    registration_id: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    email: str | None = None
    iban: str | None = None
    bic: str | None = None
    peppol_id: str | None = None  # e.g. "0088:4750000000001"; scheme:identifier


@dataclass(frozen=True)
class InvoiceLine:
    line_id: str
    description: str
    quantity: Decimal
    unit: str  # UN/ECE rec 20: KWH, HUR, C62 (one), MON
    unit_price: Decimal  # net, may carry more decimals than the currency
    net_amount: Decimal  # rounded to the currency's minor unit
    tax_rule: TaxRule
    vat_rate: Decimal  # percent, 0 for reverse charge/exempt
    vat_amount: Decimal
    vat_country: str
    references: tuple[str, ...] = ()  # CDR ids behind the line (traceability)


@dataclass(frozen=True)
class VatBreakdown:
    tax_rule: TaxRule
    vat_rate: Decimal
    taxable_amount: Decimal
    vat_amount: Decimal
    exemption_reason: str | None = None  # required by Peppol for AE/E/O
    # VATEX code (CEF code list), e.g. "VATEX-EU-AE"; the UBL writer fills AE and O by default
    exemption_reason_code: str | None = None


@dataclass(frozen=True)
class Invoice:
    """An invoice or credit note, as issued (its number is gapless per issuer)."""

    kind: DocumentKind
    number: str
    issue_date: date
    due_date: date
    period_start: date
    period_end: date  # inclusive
    seller: LegalParty
    buyer: LegalParty
    currency: str
    lines: tuple[InvoiceLine, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    total_net: Decimal
    total_vat: Decimal
    total_gross: Decimal
    credited_number: str | None = None  # the invoice a credit note corrects
    buyer_reference: str | None = None  # Peppol BT-10; the agreement id when none is given
    note: str | None = None
    credited_issue_date: date | None = None  # issue date of ``credited_number`` (Peppol BT-26)
    payment_reference: str | None = None  # remittance info to quote (BT-83); default: number


VatDirection = Literal["OUTPUT", "INPUT"]


@dataclass(frozen=True)
class VatSummaryRow:
    """One row of a period's VAT summary: per VAT country, rate and rule (issue 6 item 7).

    ``direction`` OUTPUT is VAT on what the issuer sold (its invoices, minus its credit notes),
    INPUT is VAT on what it bought. ``clearing.finance.statements.vat_summary`` builds the rows
    from invoices; the ledger may also build them from booked lines.
    """

    vat_country: str  # ISO alpha-2: whose VAT applies
    vat_rate: Decimal  # percent
    tax_rule: TaxRule
    currency: str
    taxable_amount: Decimal
    vat_amount: Decimal
    direction: VatDirection = "OUTPUT"
    documents: int = 0  # invoices and credit notes behind the row
    lines: int = 0  # document lines behind the row


@dataclass(frozen=True)
class StatementLine:
    """One line of a statement to a counterparty: a CDR, an adjustment, a fee, a payment."""

    booked_on: date
    kind: str  # CDR | CREDIT | ADJUSTMENT | FEE | PAYMENT | NETTING
    reference: str  # CDR id, invoice number, payment reference
    description: str
    currency: str
    net_amount: Decimal  # + receivable from the counterparty, - payable to it
    vat_amount: Decimal
    gross_amount: Decimal
    energy_kwh: Decimal | None = None
    tax_rule: TaxRule | None = None
    vat_rate: Decimal | None = None
    fx_rate: Decimal | None = None  # when converted: rate and its date
    fx_rate_date: date | None = None
    original_currency: str | None = None
    original_amount: Decimal | None = None


@dataclass(frozen=True)
class Statement:
    issuer: LegalParty
    counterparty: LegalParty
    period_start: date
    period_end: date  # inclusive
    currency: str
    opening_balance: Decimal
    lines: tuple[StatementLine, ...]
    closing_balance: Decimal
    title: str = "Statement"


@dataclass(frozen=True)
class RemittanceLine:
    """An owner's remittance: per station or site, revenue minus each fee."""

    reference: str  # station or site id
    description: str
    sessions: int
    energy_kwh: Decimal
    revenue: Decimal
    fees: tuple[tuple[str, Decimal], ...]  # (party/role, amount)
    payout: Decimal


@dataclass(frozen=True)
class Remittance:
    payer: LegalParty
    owner: LegalParty
    period_start: date
    period_end: date
    currency: str
    lines: tuple[RemittanceLine, ...]
    total_payout: Decimal


@dataclass(frozen=True)
class Payout:
    """One SEPA credit transfer (pain.001)."""

    end_to_end_id: str  # <= 35 characters
    creditor: LegalParty  # iban (and bic) required
    amount: Decimal
    currency: str  # EUR for SEPA
    remittance_info: str  # <= 140 characters, e.g. invoice numbers


@dataclass(frozen=True)
class PaymentBatch:
    message_id: str  # <= 35 characters, unique per debtor
    created_at: datetime
    execution_date: date
    debtor: LegalParty  # iban and bic required
    payouts: tuple[Payout, ...]


@dataclass(frozen=True)
class BankLine:
    """One entry of a camt.053 bank statement."""

    entry_reference: str
    booking_date: date
    value_date: date | None
    amount: Decimal  # always positive
    currency: str
    credit: bool  # True: money received (CRDT); False: paid (DBIT)
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance_info: str | None = None  # unstructured Ustrd and/or structured creditor ref
    end_to_end_id: str | None = None
    account_iban: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
