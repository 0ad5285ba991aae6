"""Clearing report for a billing period: who owes whom, per CDR and per counterparty.

Billing periods are calendar months ``YYYY-MM`` in the clearing time zone (setting
``clearing.timezone``, default Europe/Riga); a CDR belongs to the month in which it ended
(``hub.services.records.cdrs_between``: end in [month start, next month start), in UTC).

Directions:
- receivable: our own CDR; the eMSP that issued the token owes our CPO.
- payable: a CDR received from a partner CPO; our eMSP owes that CPO.

Amounts are shown as each CDR states them, rounded half-up to the currency's minor unit (a no-op
for our own CDRs, which are rounded already); totals are sums of the shown lines, so a finance
tool adding the column gets the total row. Credit CDRs (OCPI 2.2.1 mod_cdrs, Credit CDRs) carry
negative costs; their energy is shown negative too, so that a credit nets its original out.
A CDR without an incl.-VAT total and without a VAT rate has blank VAT cells, and the total row
of its group has blank VAT and incl. cells: unknown, not zero.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from clearing.money import DEFAULT_POLICY, RoundingPolicy
from hub.context import HubContext
from hub.domain import Cdr, InvalidInput
from hub.services.records import cdrs_between

RECEIVABLE, PAYABLE = "receivable", "payable"
TOTAL = "TOTAL"
UNKNOWN_PARTY = "UNKNOWN"
KWH_QUANTUM = Decimal("0.001")
COLUMNS = (
    "period", "direction", "cdr_id", "cpo", "counterparty", "start", "end", "energy_kwh",
    "currency", "total_excl_vat", "vat_country", "vat_rate", "vat_amount", "total_incl_vat",
)
_PERIOD = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class ReportLine:
    direction: str
    cdr_id: str
    cpo: str
    counterparty: str
    start: datetime
    end: datetime
    energy_kwh: Decimal
    currency: str
    total_excl_vat: Decimal
    vat_country: str | None
    vat_rate: Decimal | None
    vat_amount: Decimal | None
    total_incl_vat: Decimal | None


@dataclass(frozen=True, slots=True)
class ReportTotal:
    counterparty: str
    direction: str
    currency: str
    cdr_count: int
    energy_kwh: Decimal
    total_excl_vat: Decimal
    vat_amount: Decimal | None  # None: some CDR of the group states no VAT
    total_incl_vat: Decimal | None


@dataclass(frozen=True, slots=True)
class ClearingReport:
    period: str
    time_zone: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    lines: tuple[ReportLine, ...]
    totals: tuple[ReportTotal, ...]


def period_bounds(period: str, tz: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` as [first instant, first instant of next month) in ``tz``, in UTC."""
    match = _PERIOD.fullmatch(period.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InvalidInput(f"billing period must be YYYY-MM (e.g. 2026-11), got {period!r}")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown clearing time zone {tz!r}") from exc
    year, month = int(match.group(1)), int(match.group(2))
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(next_year, next_month, 1, tzinfo=zone).astimezone(UTC)
    return start, end


async def build_report(session: AsyncSession, period: str, tz: str) -> ClearingReport:
    start, end = period_bounds(period, tz)
    cdrs = await cdrs_between(session, start, end)
    lines = tuple(report_line(cdr, source) for cdr, source in cdrs)
    return ClearingReport(period=period.strip(), time_zone=tz, start=start, end=end,
                          lines=lines, totals=totals(lines))


async def build_report_for(ctx: HubContext, period: str) -> ClearingReport:
    """The report in the configured clearing time zone, in a read-only unit of work."""
    async with ctx.sessionmaker() as session:
        return await build_report(session, period, ctx.settings.clearing.timezone)


def report_line(cdr: Cdr, source: str, policy: RoundingPolicy = DEFAULT_POLICY) -> ReportLine:
    if source == "own":
        direction = RECEIVABLE
        counterparty = str(cdr.token_owner) if cdr.token_owner else UNKNOWN_PARTY
    else:
        direction, counterparty = PAYABLE, str(cdr.cpo)
    excl = policy.total(cdr.total_cost_excl_vat, cdr.currency)
    vat: Decimal | None = None
    incl: Decimal | None = None
    if cdr.total_cost_incl_vat is not None:
        incl = policy.total(cdr.total_cost_incl_vat, cdr.currency)
        vat = incl - excl
    elif cdr.vat_rate is not None:
        vat = policy.total(excl * cdr.vat_rate / 100, cdr.currency)
        incl = excl + vat
    energy = -cdr.total_energy if cdr.credit else cdr.total_energy
    return ReportLine(
        direction=direction, cdr_id=cdr.id, cpo=str(cdr.cpo), counterparty=counterparty,
        start=cdr.start_date_time, end=cdr.end_date_time,
        energy_kwh=energy.quantize(KWH_QUANTUM, rounding=ROUND_HALF_UP),
        currency=cdr.currency, total_excl_vat=excl, vat_country=cdr.vat_country,
        vat_rate=cdr.vat_rate, vat_amount=vat, total_incl_vat=incl,
    )


def totals(lines: Iterable[ReportLine]) -> tuple[ReportTotal, ...]:
    groups: dict[tuple[str, str, str], list[ReportLine]] = {}
    for line in lines:
        groups.setdefault((line.counterparty, line.direction, line.currency), []).append(line)
    return tuple(_total(key, group) for key, group in sorted(groups.items()))


def _total(key: tuple[str, str, str], group: list[ReportLine]) -> ReportTotal:
    vats = [ln.vat_amount for ln in group]
    incls = [ln.total_incl_vat for ln in group]
    return ReportTotal(
        counterparty=key[0], direction=key[1], currency=key[2], cdr_count=len(group),
        energy_kwh=sum((ln.energy_kwh for ln in group), Decimal(0)),
        total_excl_vat=sum((ln.total_excl_vat for ln in group), Decimal(0)),
        vat_amount=None if None in vats else sum((v for v in vats if v is not None), Decimal(0)),
        total_incl_vat=(None if None in incls
                        else sum((v for v in incls if v is not None), Decimal(0))),
    )


def write_csv(report: ClearingReport, out: TextIO) -> None:
    """CSV with a header, one row per CDR, then one TOTAL row per (counterparty, direction,
    currency). Decimals are written as fixed-point text, never through float."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for ln in report.lines:
        writer.writerow((
            report.period, ln.direction, ln.cdr_id, ln.cpo, ln.counterparty, _iso(ln.start),
            _iso(ln.end), fmt_kwh(ln.energy_kwh), ln.currency, fmt_money(ln.total_excl_vat),
            ln.vat_country or "", _rate(ln.vat_rate), fmt_money(ln.vat_amount),
            fmt_money(ln.total_incl_vat),
        ))
    for t in report.totals:
        writer.writerow((
            report.period, t.direction, TOTAL, "", t.counterparty, "", "", fmt_kwh(t.energy_kwh),
            t.currency, fmt_money(t.total_excl_vat), "", "", fmt_money(t.vat_amount),
            fmt_money(t.total_incl_vat),
        ))


def fmt_money(value: Decimal | None) -> str:
    """Fixed two decimals (the minor unit of every currency we settle in); blank = unknown."""
    if value is None:
        return ""
    return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def fmt_kwh(value: Decimal) -> str:
    """Up to three decimals, no trailing zeros: 20 -> "20", 12.50 -> "12.5"."""
    text = format(value.quantize(KWH_QUANTUM, rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rate(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
