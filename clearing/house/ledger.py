"""Double-entry ledger: accounts, postings and the rule that every entry balances.

An entry is a list of lines; each line is a debit or a credit on one account, for one legal
entity (whose position it is), in one currency. ``Posting.check()`` refuses an entry whose
debits and credits differ in any currency, or a line that is both or neither, so an unbalanced
entry never reaches the database (``clearing.house.store.post`` calls it).

Accounts (the clearing house's books of the positions between entities):

    1200 RECEIVABLE        what an entity (the CDR's customer: an eMSP) owes for charging
    1210 DRIVER_RECEIVABLE what drivers paid directly (our own eMSP/app, B2C)
    1900 BANK              money received or paid
    2000 PAYABLE           what is owed to an entity (the CDR's supplier: a partner CPO)
    2100 SPLIT_PAYABLE     what is owed to a revenue-split party of our own sessions
                           (owner, retailer, DSO, payment provider, IT provider)
    2400 VAT_OUTPUT        VAT due to a tax authority (line's ``vat_country``)
    3000 REVENUE           the platform's own share of our sessions
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from hub.domain import DomainError

RECEIVABLE = "1200-receivable"
DRIVER_RECEIVABLE = "1210-driver-receivable"
BANK = "1900-bank"
PAYABLE = "2000-payable"
SPLIT_PAYABLE = "2100-split-payable"
VAT_OUTPUT = "2400-vat-output"
REVENUE = "3000-revenue"
ACCOUNTS = (RECEIVABLE, DRIVER_RECEIVABLE, BANK, PAYABLE, SPLIT_PAYABLE, VAT_OUTPUT, REVENUE)
ZERO = Decimal(0)


class UnbalancedEntry(DomainError):
    """An entry whose debits and credits differ: a bug, never booked."""


@dataclass(frozen=True, slots=True)
class Line:
    account: str
    entity_pk: int | None
    debit: Decimal
    credit: Decimal
    currency: str
    counterparty_pk: int | None = None
    role: str | None = None
    tax_rule: str | None = None
    vat_rate: Decimal | None = None
    vat_country: str | None = None
    original_currency: str | None = None
    original_amount: Decimal | None = None
    fx_rate: Decimal | None = None
    fx_rate_date: date | None = None
    fx_rule: str | None = None
    reference: str | None = None

    @property
    def amount(self) -> Decimal:
        """Signed: debit positive, credit negative."""
        return self.debit - self.credit

    def reversed(self) -> Line:
        return replace(self, debit=self.credit, credit=self.debit)


def dr(account: str, entity_pk: int | None, amount: Decimal, currency: str, **kw: object
       ) -> Line:
    """A debit of ``amount``; a negative amount becomes a credit (credit CDRs)."""
    if amount < 0:
        return Line(account, entity_pk, ZERO, -amount, currency, **kw)  # type: ignore[arg-type]
    return Line(account, entity_pk, amount, ZERO, currency, **kw)  # type: ignore[arg-type]


def cr(account: str, entity_pk: int | None, amount: Decimal, currency: str, **kw: object
       ) -> Line:
    return dr(account, entity_pk, -amount, currency, **kw)


@dataclass(frozen=True, slots=True)
class Posting:
    """One journal entry; ``key`` names its cause so that it is booked at most once."""

    key: str
    kind: str  # CDR | REVERSAL | PAYMENT | ADJUSTMENT
    booked_on: date
    description: str
    lines: tuple[Line, ...]
    cdr_pk: int | None = None
    period_pk: int | None = None
    meta: dict[str, object] = field(default_factory=dict, compare=False)

    def check(self) -> Posting:
        if not self.lines:
            raise UnbalancedEntry(f"entry {self.key}: no lines")
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in self.lines:
            if line.debit < 0 or line.credit < 0 or (line.debit > 0 and line.credit > 0):
                raise UnbalancedEntry(f"entry {self.key}: line {line.account} must be a "
                                      "non-negative debit or credit, not both")
            totals[line.currency] += line.debit - line.credit
        off = {c: t for c, t in totals.items() if t != 0}
        if off:
            raise UnbalancedEntry(f"entry {self.key} does not balance: " + ", ".join(
                f"{c} debit-credit={t}" for c, t in sorted(off.items())))
        return self

    def without_zero_lines(self) -> Posting:
        return replace(self, lines=tuple(x for x in self.lines if x.debit or x.credit))

    def reversal(self, key: str, booked_on: date, period_pk: int | None, why: str) -> Posting:
        return Posting(key, "REVERSAL", booked_on, f"reversal of {self.key}: {why}",
                       tuple(x.reversed() for x in self.lines), self.cdr_pk, period_pk)
