"""Clearing agreements (per pair of legal entities) and their settlement periods.

An agreement is stored once per unordered pair (``entity_a_pk <= entity_b_pk``); a CDR between
two entities without one gets the defaults (reverse charge for cross-border B2B, the
supplier's currency, monthly periods, 30 days, netting on), created on first use so its periods
have something to hang off. Direct sales of an entity to drivers use the pair (entity, entity).

Periods: calendar months (or ``period_months`` long) in the clearing time zone. A period is
OPEN until closed; then it is locked: a CDR that belongs to it but arrives or is corrected later
goes into the agreement's next OPEN period (created when needed), never into the closed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models_clearing import ClearingAgreementRow, SettlementPeriodRow
from hub.domain import Conflict, InvalidInput

OPEN, CLOSED = "OPEN", "CLOSED"
B2B_OPTIONS = ("REVERSE_CHARGE", "CHARGING_COUNTRY_VAT")
_LABEL = re.compile(r"(\d{4})-(\d{2})")


class PeriodClosed(Conflict):
    """A closed period is locked: closing it again or booking into it is refused."""


def parse_label(label: str) -> date:
    m = _LABEL.fullmatch(label or "")
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise InvalidInput(f"period: {label!r} is not YYYY-MM")
    return date(int(m.group(1)), int(m.group(2)), 1)


def add_months(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def label_of(start: date) -> str:
    return f"{start.year:04d}-{start.month:02d}"


def period_start(d: date, months: int) -> date:
    """The first day of the period containing ``d`` (periods aligned on January)."""
    index = (d.month - 1) // months * months
    return date(d.year, index + 1, 1)


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    pk: int
    b2b_vat_option: str
    settlement_currency: str
    period_months: int
    payment_terms_days: int
    netting: bool


def terms(row: ClearingAgreementRow) -> AgreementTerms:
    return AgreementTerms(row.id, row.b2b_vat_option, row.settlement_currency,
                          row.period_months, row.payment_terms_days, row.netting)


async def agreement_for(session: AsyncSession, a_pk: int, b_pk: int, *, currency: str,
                        now: datetime) -> ClearingAgreementRow:
    lo, hi = min(a_pk, b_pk), max(a_pk, b_pk)
    row = (await session.scalars(select(ClearingAgreementRow).where(
        ClearingAgreementRow.entity_a_pk == lo, ClearingAgreementRow.entity_b_pk == hi))).first()
    if row is None:
        row = ClearingAgreementRow(entity_a_pk=lo, entity_b_pk=hi, settlement_currency=currency,
                                   b2b_vat_option="REVERSE_CHARGE", period_months=1,
                                   payment_terms_days=30, netting=True, created_at=now,
                                   updated_at=now)
        session.add(row)
        await session.flush()
    return row


async def set_agreement(session: AsyncSession, a_pk: int, b_pk: int, *, now: datetime,
                        b2b_vat_option: str = "REVERSE_CHARGE", settlement_currency: str = "EUR",
                        period_months: int = 1, payment_terms_days: int = 30,
                        netting: bool = True) -> ClearingAgreementRow:
    if b2b_vat_option not in B2B_OPTIONS:
        raise InvalidInput(f"b2b_vat_option: must be one of {', '.join(B2B_OPTIONS)}")
    if period_months not in (1, 2, 3, 6, 12):
        raise InvalidInput("period_months: must be 1, 2, 3, 6 or 12")
    if payment_terms_days < 0:
        raise InvalidInput("payment_terms_days: must not be negative")
    row = await agreement_for(session, a_pk, b_pk, currency=settlement_currency, now=now)
    row.b2b_vat_option, row.settlement_currency = b2b_vat_option, settlement_currency.upper()
    row.period_months, row.payment_terms_days = period_months, payment_terms_days
    row.netting, row.updated_at = netting, now
    await session.flush()
    return row


async def period_row(session: AsyncSession, agreement: AgreementTerms, start: date,
                     now: datetime) -> SettlementPeriodRow:
    row = (await session.scalars(select(SettlementPeriodRow).where(
        SettlementPeriodRow.agreement_pk == agreement.pk,
        SettlementPeriodRow.start == start))).first()
    if row is None:
        row = SettlementPeriodRow(agreement_pk=agreement.pk, label=label_of(start), start=start,
                                  end=add_months(start, agreement.period_months), status=OPEN,
                                  created_at=now)
        session.add(row)
        await session.flush()
    return row


async def open_period_for(session: AsyncSession, agreement: AgreementTerms, on: date,
                          now: datetime) -> SettlementPeriodRow:
    """The period a booking dated ``on`` goes into: its own, or the next open one when that is
    closed (corrections of a locked period are adjustments in the open period)."""
    start = period_start(on, agreement.period_months)
    while True:
        row = await period_row(session, agreement, start, now)
        if row.status == OPEN:
            return row
        start = row.end
