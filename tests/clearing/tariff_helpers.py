"""Shared helpers for the tariff engine tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from clearing.tariffs import (
    OcpiTariff,
    Period,
    PricedSession,
    Usage,
    build_usage,
    compile_tariff,
    parse_tariff,
    price,
)

D = Decimal
# Copies of ocpi-2.2.1/examples (the OCPI 2.2.1 specification), kept beside the tests.
EXAMPLES = Path(__file__).resolve().parent / "ocpi_examples"
BERLIN = "Europe/Berlin"


def example(name: str) -> OcpiTariff:
    return parse_tariff(json.loads((EXAMPLES / name).read_text(), parse_float=Decimal))


def minutes(n: float) -> Decimal:
    return D(str(n)) / 60


def session(tariff: OcpiTariff, start: datetime, charge_min: int, kwh: str = "0",
            park_min: int = 0, tz: str = BERLIN) -> PricedSession:
    """A session built by our own period builder (split at every restriction boundary)."""
    ct = compile_tariff(tariff, tz)
    end = start + timedelta(minutes=charge_min + park_min)
    usage = build_usage(ct, start, end, D(kwh), start + timedelta(minutes=charge_min))
    return price(ct, usage)


def cdr_usage(start: datetime, *periods: Period, end: datetime | None = None) -> Usage:
    return Usage(start, end or start + timedelta(hours=24), tuple(periods))


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc, arg-type]


def totals(priced: PricedSession) -> tuple[Decimal, Decimal]:
    return priced.total.excl_vat, priced.total.incl_vat
