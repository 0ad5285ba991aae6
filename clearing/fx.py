"""Currencies: ECB euro reference rates and conversion (issue 6 item 4).

Source: the ECB's euro foreign exchange reference rates, published around 16:00 CET on TARGET
business days (PROTOCOL_NOTES "VAT and money facts"), as ``eurofxref.csv`` (daily, inside
``eurofxref.zip``), ``eurofxref-hist.csv`` (history, inside ``eurofxref-hist.zip``),
``eurofxref-daily.xml`` and ``eurofxref-hist.xml``. ``import_ecb`` reads all four (zipped or
not) and stores the rates of the settlement currencies in ``fx_rates`` (1 EUR = rate QUOTE).

Rules: a conversion on date D uses the latest rate at or before D, at most ``MAX_AGE_DAYS``
old (weekends and TARGET holidays have no rate); cross rates go through the euro:
``amount / rate[from] * rate[to]``, rounded once, half-up, to the target currency's minor unit.
The rate and its date are returned so that every converted line can store them.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import zipfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.money import quantum
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models_clearing_ref import FxRateRow
from hub.domain import DomainError, InvalidInput

log = structlog.get_logger("clearing.fx")
# lxml (a dependency for the finance XML files) without relying on stubs being installed.
etree: Any = importlib.import_module("lxml.etree")

# The currencies we settle in (issue 6 item 4); EUR is the base, so it has no row.
SETTLEMENT_CURRENCIES: tuple[str, ...] = ("SEK", "NOK", "DKK", "PLN")
MAX_AGE_DAYS = 7
CROSS_RATE_DECIMALS = Decimal("0.000001")  # the effective rate shown/stored with a line
_ECB_NS = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}


@dataclass(frozen=True)
class FxRate:
    base: str  # always "EUR" (ECB reference rates)
    quote: str  # SEK, NOK, DKK, PLN...; EUR->EUR is rate 1
    rate: Decimal  # 1 EUR = rate QUOTE
    rate_date: date  # the ECB date the rate is from
    source: str  # "ECB" or "manual"


class MissingFxRate(DomainError):
    """No usable rate for a currency on a date (none stored, or older than MAX_AGE_DAYS)."""


def euro_rate(on: date) -> FxRate:
    return FxRate("EUR", "EUR", Decimal(1), on, "ECB")


async def rate_for(session: AsyncSession, currency: str, on: date) -> FxRate:
    """The latest rate of ``currency`` at or before ``on``, no older than MAX_AGE_DAYS."""
    quote = currency.upper()
    if quote == "EUR":
        return euro_rate(on)
    row = (await session.scalars(
        select(FxRateRow).where(FxRateRow.quote == quote, FxRateRow.rate_date <= on)
        .order_by(FxRateRow.rate_date.desc()).limit(1))).first()
    if row is None:
        raise MissingFxRate(f"no {quote} rate at or before {on.isoformat()}: import the ECB "
                            f"reference rates (hub clearing fx-import)")
    if (on - row.rate_date).days > MAX_AGE_DAYS:
        raise MissingFxRate(
            f"the latest {quote} rate before {on.isoformat()} is from "
            f"{row.rate_date.isoformat()}, older than {MAX_AGE_DAYS} days: import newer rates")
    return FxRate(row.base, row.quote, row.rate, row.rate_date, row.source)


async def rates_for(session: AsyncSession, currencies: Iterable[str], on: date
                    ) -> dict[str, FxRate]:
    """``rate_for`` of each currency (EUR included as 1): the mapping ``convert`` takes."""
    return {c.upper(): await rate_for(session, c, on) for c in set(currencies)}


def _rate(ccy: str, rates: Mapping[str, FxRate]) -> Decimal:
    if ccy == "EUR":
        return Decimal(1)
    fx = rates.get(ccy)
    if fx is None:
        raise MissingFxRate(f"no {ccy} rate given for the conversion")
    if fx.base != "EUR" or fx.quote != ccy or fx.rate <= 0:
        raise InvalidInput(f"rate for {ccy}: must be a positive EUR->{ccy} rate")
    return fx.rate


def convert(amount: Decimal, from_ccy: str, to_ccy: str, rates: Mapping[str, FxRate]
            ) -> tuple[Decimal, Decimal]:
    """(``amount`` in ``to_ccy`` rounded half-up to its minor unit, the effective cross rate
    rounded to 6 decimals). Through the euro: ``amount / rate[from] * rate[to]``, exact until
    the one rounding at the end (the shown cross rate is for the reader, not recomputed)."""
    src, dst = from_ccy.upper(), to_ccy.upper()
    if src == dst:
        return amount.quantize(quantum(dst), rounding=ROUND_HALF_UP), Decimal(1)
    r_from, r_to = _rate(src, rates), _rate(dst, rates)
    converted = (amount / r_from * r_to).quantize(quantum(dst), rounding=ROUND_HALF_UP)
    cross = (r_to / r_from).quantize(CROSS_RATE_DECIMALS, rounding=ROUND_HALF_UP)
    return converted, cross


# -- ECB files ------------------------------------------------------------------------------------


def _date(text: str) -> date:
    """ISO (hist CSV, XML) or "26 November 2026" (daily CSV)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.split()
    if len(parts) == 3 and parts[1].lower() in _MONTHS and parts[0].isdigit():
        try:
            return date(int(parts[2]), _MONTHS[parts[1].lower()], int(parts[0]))
        except ValueError:
            pass
    raise InvalidInput(f"ECB file: bad date {text!r}")


def _decimal(text: str, where: str) -> Decimal | None:
    text = text.strip()
    if text in ("", "N/A"):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(f"ECB file: bad rate {text!r} ({where})") from exc
    if not value.is_finite() or value <= 0:
        raise InvalidInput(f"ECB file: bad rate {text!r} ({where})")
    return value


def _parse_csv(text: str) -> Iterable[tuple[date, str, Decimal]]:
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if any(
        c.strip() for c in r)]
    if not rows or rows[0][0] != "Date":
        raise InvalidInput("ECB file: a CSV must start with a 'Date, USD, ...' header")
    header = rows[0]
    for row in rows[1:]:
        day = _date(row[0])
        for ccy, cell in zip(header[1:], row[1:], strict=False):
            if ccy:
                value = _decimal(cell, f"{ccy} on {day.isoformat()}")
                if value is not None:
                    yield day, ccy, value


def _parse_xml(data: bytes) -> Iterable[tuple[date, str, Decimal]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"ECB file: not well-formed XML ({exc})") from exc
    days = root.findall(f".//{{{_ECB_NS}}}Cube[@time]")
    if not days:
        raise InvalidInput("ECB file: no <Cube time='...'> in the XML (not an ECB eurofxref)")
    for cube in days:
        day = _date(str(cube.get("time")))
        for item in cube.findall(f"{{{_ECB_NS}}}Cube[@currency]"):
            ccy = str(item.get("currency"))
            value = _decimal(str(item.get("rate", "")), f"{ccy} on {day.isoformat()}")
            if value is not None:
                yield day, ccy, value


def parse_ecb(data: bytes) -> list[tuple[date, str, Decimal]]:
    """(date, currency, rate) of every rate in an ECB eurofxref file (CSV/XML, zip or not)."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith((".csv", ".xml"))]
                if not names:
                    raise InvalidInput("ECB file: the zip holds no .csv or .xml file")
                data = zf.read(names[0])
        except zipfile.BadZipFile as exc:
            raise InvalidInput(f"ECB file: bad zip ({exc})") from exc
    text = data.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("<"):
        return list(_parse_xml(data.lstrip(b"\xef\xbb\xbf \t\r\n")))
    return list(_parse_csv(text))


async def store_rate(session: AsyncSession, quote: str, rate_date: date, rate: Decimal,
                     source: str) -> bool:
    """Insert or correct one rate; False when the same rate is already stored."""
    row = (await session.scalars(select(FxRateRow).where(
        FxRateRow.quote == quote, FxRateRow.rate_date == rate_date))).first()
    if row is not None and row.rate == rate and row.source == source:
        return False
    if row is None:
        session.add(FxRateRow(base="EUR", quote=quote, rate_date=rate_date, rate=rate,
                              source=source))
    else:
        row.rate, row.source = rate, source
    return True


async def import_ecb(session: AsyncSession, data: bytes,
                     currencies: Collection[str] = SETTLEMENT_CURRENCIES) -> int:
    """Store the rates of ``currencies`` from an ECB file; idempotent. Returns rows written
    (inserted or corrected; an ECB rate replaces a manual one of the same date)."""
    wanted = {c.upper() for c in currencies}
    parsed = [(d, c, r) for d, c, r in parse_ecb(data) if c in wanted]
    if not parsed:
        return 0
    first, last = min(d for d, _, _ in parsed), max(d for d, _, _ in parsed)
    existing: dict[tuple[str, date], Any] = {
        (r.quote, r.rate_date): r for r in (await session.scalars(select(FxRateRow).where(
            FxRateRow.rate_date >= first, FxRateRow.rate_date <= last,
            FxRateRow.quote.in_(wanted)))).all()}
    written = 0
    for day, ccy, rate in parsed:
        row = existing.get((ccy, day))
        if row is None:
            row = FxRateRow(base="EUR", quote=ccy, rate_date=day, rate=rate, source="ECB")
            session.add(row)
            existing[(ccy, day)] = row
        elif row.rate == rate and row.source == "ECB":
            continue
        else:
            row.rate, row.source = rate, "ECB"
        written += 1
    await session.flush()
    log.info("fx.ecb_imported", rates=written, first=first.isoformat(), last=last.isoformat())
    return written


async def list_rates(session: AsyncSession, *, currency: str | None = None,
                     since: date | None = None, limit: int = 500) -> list[FxRate]:
    q = select(FxRateRow).order_by(FxRateRow.rate_date.desc(), FxRateRow.quote).limit(limit)
    if currency:
        q = q.where(FxRateRow.quote == currency.upper())
    if since:
        q = q.where(FxRateRow.rate_date >= since)
    return [FxRate(r.base, r.quote, r.rate, r.rate_date, r.source)
            for r in (await session.scalars(q)).all()]


# -- the daily job ------------------------------------------------------------------------------


async def fetch_ecb(ctx: HubContext, *, url: str | None = None, path: str | None = None
                    ) -> bytes:
    """The bytes of the configured (or given) ECB file: a URL (GET) or a local path."""
    url = url or (None if path else ctx.settings.clearing.ecb_rates_url)
    path = path or ctx.settings.clearing.ecb_rates_file
    if url:
        try:
            response = await ctx.http.get(url, follow_redirects=True)
            response.raise_for_status()
        except Exception as exc:  # httpx errors: connection, status
            raise InvalidInput(f"ECB rates from {url}: {exc}") from exc
        return response.content
    if path:
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except OSError as exc:
            raise InvalidInput(f"ECB rates file {path}: {exc.strerror}") from exc
    raise InvalidInput("no ECB source: set HUB_CLEARING__ECB_RATES_URL or ..._ECB_RATES_FILE")


async def import_ecb_from_source(ctx: HubContext, *, url: str | None = None,
                                 path: str | None = None) -> int:
    data = await fetch_ecb(ctx, url=url, path=path)
    async with transaction(ctx.sessionmaker) as session:
        return await import_ecb(session, data)


async def ecb_import_job(ctx: HubContext) -> int:
    """The scheduled import: logs and swallows errors (the next day's run retries)."""
    try:
        return await import_ecb_from_source(ctx)
    except DomainError as exc:
        log.warning("fx.ecb_import_failed", error=exc.message)
        return 0


def schedule_ecb_import(ctx: HubContext, scheduler: Any) -> None:
    """Add the daily ECB import (an APScheduler cron job at ``ecb_import_time`` UTC) when a
    URL or file is configured; nothing otherwise (or without a scheduler)."""
    s = ctx.settings.clearing
    if scheduler is None or not (s.ecb_rates_url or s.ecb_rates_file):
        return
    try:
        hour, minute = (int(x) for x in s.ecb_import_time.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError(s.ecb_import_time)
    except ValueError as exc:
        raise InvalidInput(f"clearing.ecb_import_time: {s.ecb_import_time!r} is not HH:MM"
                           ) from exc
    scheduler.add_job(ecb_import_job, "cron", hour=hour, minute=minute, args=[ctx],
                      id="clearing_ecb_import", coalesce=True, max_instances=1,
                      replace_existing=True, misfire_grace_time=int(timedelta(hours=6)
                                                                    .total_seconds()))
