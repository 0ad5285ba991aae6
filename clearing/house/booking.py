"""Pure rules of one CDR in clearing: plausibility checks, the rated figures, its booking.

No database and no clock: ``clearing.house.run`` reads the CDRs and reference data, calls these
functions and writes their results.

Rated figures: the CDR's own price excl. VAT (ours: priced by our tariff; a partner's: the price
it claimed, accepted because re-pricing with its published tariff came within the agreement's
tolerance), converted to the agreement's settlement currency when it differs (ECB reference
rate of the CDR's end date, ``clearing.fx.convert``), and the VAT of the line from
``clearing.tax.determine`` (not the CDR's own VAT fields: that is the driver's price).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from clearing.house import ledger
from clearing.house.ledger import Line, Posting, cr, dr
from clearing.money import MINOR_UNITS
from clearing.tax import TaxDecision

ZERO = Decimal(0)
# Above this average power a session is implausible (the fastest chargers deliver ~400 kW).
MAX_AVERAGE_KW = Decimal(1000)


@dataclass(frozen=True, slots=True)
class CdrFacts:
    """What clearing reads of a CDR row."""

    pk: int
    cdr_id: str
    source: str  # own | received
    credit: bool
    credit_reference: str | None
    cpo_party_pk: int
    emsp_party_pk: int | None
    start: datetime
    end: datetime
    currency: str
    energy: Decimal
    time: Decimal
    excl: Decimal
    incl: Decimal | None
    country: str | None  # alpha-2 of the charging location
    location_id: str | None
    evse_uid: str | None


@dataclass(frozen=True, slots=True)
class Check:
    code: str
    ok: bool
    message: str = ""

    def json(self) -> dict[str, Any]:
        return {"code": self.code, "ok": self.ok, "message": self.message}


def plausibility(f: CdrFacts) -> list[Check]:
    """The checks of ``received -> validated`` that need only the CDR itself (messages are
    written only for failed checks: this runs for every CDR of a month)."""
    sign = Decimal(-1) if f.credit else Decimal(1)
    power_ok = f.energy / f.time <= MAX_AVERAGE_KW if f.time > 0 else f.energy == 0
    results = [
        ("end_after_start", f.end > f.start),
        ("energy_non_negative", f.energy >= 0),
        ("time_non_negative", f.time >= 0),
        ("cost_sign", sign * f.excl >= 0),
        ("currency_known", f.currency.upper() in MINOR_UNITS),
        ("country_known", f.country is not None),
        ("incl_not_below_excl", f.incl is None or sign * (f.incl - f.excl) >= 0),
        ("power_plausible", power_ok),
    ]
    return [Check(code, ok, "" if ok else _message(code, f)) for code, ok in results]


def _message(code: str, f: CdrFacts) -> str:
    return {
        "end_after_start": f"ends {f.end.isoformat()} before it starts {f.start.isoformat()}",
        "energy_non_negative": f"total_energy {f.energy} < 0",
        "time_non_negative": f"total_time {f.time} < 0",
        "cost_sign": f"total_cost excl. VAT {f.excl} is "
                     + ("positive on a credit CDR" if f.credit else "negative"),
        "currency_known": f"currency {f.currency!r} is not one we settle in "
                          f"({', '.join(MINOR_UNITS)})",
        "country_known": "the CDR's location has no known country (country of supply)",
        "incl_not_below_excl": f"total incl. VAT {f.incl} below excl. VAT {f.excl}",
        "power_plausible": f"{f.energy} kWh in {f.time} h is above {MAX_AVERAGE_KW} kW",
    }[code]


@dataclass(frozen=True, slots=True)
class Fx:
    original_currency: str
    original_net: Decimal
    rate: Decimal
    rate_date: date
    rule: str


@dataclass(frozen=True, slots=True)
class Rated:
    currency: str  # settlement currency
    net: Decimal
    vat: Decimal
    decision: TaxDecision
    fx: Fx | None = None

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class Part:
    """A revenue-split part (from ``clearing.split``), with its entity resolved."""

    role: str
    entity_pk: int | None
    net: Decimal
    vat: Decimal
    gross: Decimal
    explanation: str


def _tax(rated: Rated) -> dict[str, Any]:
    d = rated.decision
    kw: dict[str, Any] = {"tax_rule": d.rule, "vat_rate": d.rate, "vat_country": d.vat_country}
    if rated.fx is not None:
        kw.update(original_currency=rated.fx.original_currency, fx_rate=rated.fx.rate,
                  fx_rate_date=rated.fx.rate_date, fx_rule=rated.fx.rule)
    return kw


def cdr_posting(f: CdrFacts, rated: Rated, *, supplier_pk: int, customer_pk: int,
                direct: bool, parts: Sequence[Part] | None, booked_on: date,
                period_pk: int | None, key: str) -> Posting:
    """The booking of an accepted CDR.

    Debit: the customer's receivable (an eMSP's, or drivers' for direct sales), gross.
    Credit: for a partner's CDR, the supplier's payable, gross; for our own session, its
    revenue split: the TAX part to VAT_OUTPUT, our own share to REVENUE, every other part to
    the SPLIT_PAYABLE of its entity. A credit CDR's negative amounts turn every side round.
    """
    ref = f.cdr_id
    tax = _tax(rated)
    orig = rated.fx.original_net if rated.fx is not None else None
    debit_account = ledger.DRIVER_RECEIVABLE if direct else ledger.RECEIVABLE
    lines: list[Line] = [dr(debit_account, customer_pk, rated.gross, rated.currency,
                            counterparty_pk=supplier_pk, reference=ref,
                            original_amount=orig, **tax)]
    if parts is None:
        lines.append(cr(ledger.PAYABLE, supplier_pk, rated.gross, rated.currency,
                        counterparty_pk=customer_pk, reference=ref, original_amount=orig,
                        **tax))
    else:
        for p in parts:
            if p.role == "TAX":
                lines.append(cr(ledger.VAT_OUTPUT, None, p.gross, rated.currency, role="TAX",
                                reference=ref, **tax))
            elif p.entity_pk == supplier_pk:
                lines.append(cr(ledger.REVENUE, p.entity_pk, p.net, rated.currency,
                                role=p.role, reference=ref))
                lines.append(cr(ledger.VAT_OUTPUT, None, p.vat, rated.currency,
                                role=p.role, reference=ref, vat_country=rated.decision.
                                vat_country))
            else:
                lines.append(cr(ledger.SPLIT_PAYABLE, p.entity_pk, p.gross, rated.currency,
                                counterparty_pk=supplier_pk, role=p.role, reference=ref))
    what = "credit CDR" if f.credit else "CDR"
    return Posting(key, "CDR", booked_on, f"{what} {f.cdr_id}: {f.energy} kWh, "
                   f"{rated.decision.rule} {rated.decision.rate}%", tuple(lines), f.pk,
                   period_pk).without_zero_lines().check()


def parts_from_split(split_parts: Sequence[Any], codes: Mapping[str, int], sign: Decimal
                     ) -> list[Part]:
    """``clearing.split.SplitPart`` values -> parts with entity pks (TAX needs none)."""
    out = []
    for p in split_parts:
        pk = codes.get(p.entity_code)
        if pk is None and p.role != "TAX":
            raise KeyError(p.entity_code)
        out.append(Part(p.role, pk, sign * p.net, sign * p.vat, sign * p.gross,
                        p.explanation))
    return out
