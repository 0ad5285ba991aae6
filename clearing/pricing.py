"""Session pricing: the ``hub.ports.CdrPricer`` for our own sessions.

Delegates to the OCPI 2.2.1 tariff engine (``clearing.tariffs``; semantics in docs/tariffs.md):
all component types and restrictions, step_size, min/max price, per-component VAT, periods
split at every price change. The VAT rate of a component without its own ``vat`` is the
charging country's (clearing.vat) on the session's end date in the location's time zone.
Without a tariff the session is not priced: every amount zero, explained as "no tariff".
A price model attached to the session (``SessionFacts.price_model``, contract-level pricing)
replaces the tariff (clearing.models.ours); an unusable one falls back to the tariff, noted.
Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clearing.models.ours import price_with_model
from clearing.money import DEFAULT_POLICY, RoundingPolicy
from clearing.tariffs.adapt import from_domain, to_cdr_price
from clearing.tariffs.engine import compile_tariff, price
from clearing.tariffs.sessions import build_usage
from clearing.vat import vat_rate
from hub.domain import (
    CdrPrice,
    ChargingPeriod,
    InvalidInput,
    PriceComponent,
    PriceLine,
    SessionFacts,
    Tariff,
)

NO_TARIFF_CURRENCY = "EUR"
# Reported hours keep 1e-6 h (3.6 ms), what the CDR store keeps (NUMERIC(20, 6)); costs are
# computed from the same reported value so that volume x unit price = amount, exactly.
HOURS_QUANTUM = Decimal("0.000001")
_MICROS_PER_HOUR = Decimal(3_600_000_000)

# priced dimensions, in line order -> the unit shown on the line
_PRICED = {"FLAT": "session", "ENERGY": "kWh", "TIME": "h"}


def session_hours(start: datetime, end: datetime) -> Decimal:
    """Duration from the UTC instants (a DST day has 23 or 25 hours), in hours."""
    delta = end - start
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (Decimal(micros) / _MICROS_PER_HOUR).quantize(HOURS_QUANTUM, rounding=ROUND_HALF_UP)


def local_date(moment: datetime, time_zone: str) -> date:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {time_zone!r}") from exc
    return moment.astimezone(zone).date()


def first_component(tariff: Tariff, dimension: str) -> PriceComponent | None:
    """First element with a component of ``dimension`` wins; restrictions not evaluated yet."""
    for element in tariff.elements:
        for component in element.price_components:
            if component.type == dimension:
                return component
    return None


def price_session(
    session: SessionFacts, tariff: Tariff | None, *, policy: RoundingPolicy = DEFAULT_POLICY
) -> CdrPrice:
    """Price a finished session under ``tariff`` (None: not priced, every amount zero)."""
    if session.end < session.start or session.kwh < 0:
        raise InvalidInput(f"session {session.session_id}: negative duration or energy")
    country = session.country_code.upper()
    rate = vat_rate(country, local_date(session.end, session.time_zone))
    note = None
    if session.price_model is not None:  # contract-level pricing (clearing.models.ours)
        try:
            return price_with_model(session, session.price_model, rate)
        except InvalidInput as exc:  # a bad stored model never loses the session's CDR
            note = (f"price model {session.price_model.id} not applied ({exc.message}): "
                    "priced by the location's tariff")
    result = _by_tariff(session, tariff, rate, country, policy)
    if note is not None:
        result = replace(result, lines=(*result.lines, PriceLine(
            "FLAT", Decimal(0), "session", Decimal(0), Decimal(0), rate, note=note)))
    return result


def _by_tariff(session: SessionFacts, tariff: Tariff | None, rate: Decimal, country: str,
               policy: RoundingPolicy) -> CdrPrice:
    if tariff is None:
        return _unpriced(session, rate, country, policy)
    compiled = compile_tariff(from_domain(tariff), session.time_zone)
    usage = build_usage(compiled, session.start, session.end, session.kwh)
    priced = price(compiled, usage, default_vat=rate, policy=policy)
    return to_cdr_price(priced, country, rate)


def _unpriced(session: SessionFacts, rate: Decimal, country: str,
              policy: RoundingPolicy) -> CdrPrice:
    hours = session_hours(session.start, session.end)
    period = ChargingPeriod(start_date_time=session.start,
                            dimensions=(("ENERGY", session.kwh), ("TIME", hours)))
    lines = (PriceLine("ENERGY", session.kwh, "kWh", Decimal(0), Decimal(0), rate,
                       note="no tariff"),)
    return _totals(lines, NO_TARIFF_CURRENCY, session.kwh, hours, rate, country, period,
                   policy)


def _lines(tariff: Tariff, kwh: Decimal, hours: Decimal, rate: Decimal) -> tuple[PriceLine, ...]:
    volumes = {"FLAT": Decimal(1), "ENERGY": kwh, "TIME": hours}
    lines = []
    for dimension, unit in _PRICED.items():
        component = first_component(tariff, dimension)
        if component is None:
            continue
        volume = volumes[dimension]
        lines.append(PriceLine(
            component=dimension, volume=volume, unit=unit, unit_price=component.price,
            amount_excl_vat=volume * component.price,
            vat_rate=component.vat if component.vat is not None else rate,
        ))
    return tuple(lines)


def _totals(
    lines: tuple[PriceLine, ...], currency: str, kwh: Decimal, hours: Decimal, rate: Decimal,
    country: str, period: ChargingPeriod, policy: RoundingPolicy,
) -> CdrPrice:
    """Round at totals only: excl = round(sum of lines); VAT = round(rounded base x rate)."""
    excl = policy.total(_sum(ln.amount_excl_vat for ln in lines), currency)
    # VAT base per rate: the rounded net of the lines at that rate (one rate: the rounded excl).
    rates = sorted({ln.vat_rate for ln in lines})
    vat = policy.total(_sum(
        policy.total(_sum(ln.amount_excl_vat for ln in lines if ln.vat_rate == r), currency)
        * r / 100 for r in rates), currency)
    # One rate on every line: that is the CDR's rate; mixed rates: the country's standard rate
    # is reported and the lines carry the detail.
    cdr_rate = rates[0] if len(rates) == 1 else rate

    def dimension_total(dimension: str) -> Decimal:
        return policy.total(
            _sum(ln.amount_excl_vat for ln in lines if ln.component == dimension), currency)

    return CdrPrice(
        currency=currency, total_energy=kwh, total_time=hours, total_cost_excl_vat=excl,
        total_cost_incl_vat=excl + vat, vat_rate=cdr_rate, vat_amount=vat, vat_country=country,
        lines=lines, periods=(period,), total_energy_cost=dimension_total("ENERGY"),
        total_fixed_cost=dimension_total("FLAT"), total_time_cost=dimension_total("TIME"),
    )


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))
