"""Re-pricing a received CDR (pure): pick the partner's tariff, recompute with
``clearing.tariffs.reprice`` and classify the result against the agreement's tolerance.

Which tariff: the first tariff id the CDR names (its charging periods' ``tariff_id``, then its
``tariffs``) that the partner published to us; else a full tariff object carried in the CDR
itself; else, when the CDR names none and the partner published exactly one, that one.
Time zone (restrictions are local; an OCPI CdrLocation has none): the agreement's, else the
location country's (below), else UTC with a note.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clearing.tariffs import explanation_json, explanation_text, parse_tariff
from clearing.tariffs.model import TariffError
from clearing.tariffs.reprice import reprice
from hub.domain import InvalidInput

OK, OUTSIDE, NO_TARIFF, ERROR = "OK", "OUTSIDE_TOLERANCE", "NO_TARIFF", "ERROR"
COUNTRY_ZONES = {"LVA": "Europe/Riga", "EST": "Europe/Tallinn", "LTU": "Europe/Vilnius",
                 "FIN": "Europe/Helsinki", "SWE": "Europe/Stockholm", "NOR": "Europe/Oslo",
                 "DNK": "Europe/Copenhagen", "POL": "Europe/Warsaw", "DEU": "Europe/Berlin",
                 "NLD": "Europe/Amsterdam", "BEL": "Europe/Brussels", "FRA": "Europe/Paris"}


@dataclass(frozen=True, slots=True)
class RepricingOutcome:
    status: str
    tolerance: Decimal
    tariff_id: str | None = None
    tariff_source: str | None = None  # "published" | "cdr"
    currency: str | None = None
    claimed_excl_vat: Decimal | None = None
    computed_excl_vat: Decimal | None = None
    claimed_incl_vat: Decimal | None = None
    computed_incl_vat: Decimal | None = None
    differences: tuple[dict[str, Any], ...] = ()
    explanation: dict[str, Any] | None = None
    message: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def difference_excl_vat(self) -> Decimal | None:
        if self.claimed_excl_vat is None or self.computed_excl_vat is None:
            return None
        return self.claimed_excl_vat - self.computed_excl_vat


def named_tariff_ids(cdr: Mapping[str, Any]) -> list[str]:
    ids = [str(p["tariff_id"]) for p in cdr.get("charging_periods") or []
           if isinstance(p, Mapping) and p.get("tariff_id")]
    ids += [str(t["id"]) for t in cdr.get("tariffs") or [] if isinstance(t, Mapping)
            and t.get("id")]
    return list(dict.fromkeys(ids))


def choose_tariff(cdr: Mapping[str, Any], published: Mapping[str, dict[str, Any]]
                  ) -> tuple[dict[str, Any] | None, str | None]:
    named = named_tariff_ids(cdr)
    for tariff_id in named:
        if tariff_id in published:
            return published[tariff_id], "published"
    carried = [t for t in cdr.get("tariffs") or [] if isinstance(t, Mapping)
               and t.get("elements")]
    if carried:
        return dict(carried[0]), "cdr"
    if not named and len(published) == 1:
        return next(iter(published.values())), "published"
    return None, None


def zone_for_cdr(cdr: Mapping[str, Any], agreement_zone: str | None) -> tuple[str, str | None]:
    if agreement_zone:
        return agreement_zone, None
    location = cdr.get("cdr_location") or cdr.get("location") or {}
    country = str(location.get("country") or "") if isinstance(location, Mapping) else ""
    if country.upper() in COUNTRY_ZONES:
        return COUNTRY_ZONES[country.upper()], None
    return "UTC", f"no time zone for country {country!r}: restrictions read in UTC"


def _stated(cdr: Mapping[str, Any], side: str) -> Decimal | None:
    total = cdr.get("total_cost")
    if isinstance(total, Mapping) and total.get(side) is not None:
        return Decimal(str(total[side]))
    return None


def reprice_received(cdr: Mapping[str, Any], published: Mapping[str, dict[str, Any]], *,
                     tolerance: Decimal, agreement_zone: str | None = None) -> RepricingOutcome:
    """Never raises on bad partner data: an unusable CDR or tariff is status ERROR."""
    tariff_json, source = choose_tariff(cdr, published)
    currency = str(cdr.get("currency")) if cdr.get("currency") else None
    claimed_excl = claimed_incl = None
    with contextlib.suppress(ArithmeticError):
        claimed_excl, claimed_incl = _stated(cdr, "excl_vat"), _stated(cdr, "incl_vat")
    if tariff_json is None:
        names = ", ".join(named_tariff_ids(cdr)) or "none"
        return RepricingOutcome(NO_TARIFF, tolerance, currency=currency,
                                claimed_excl_vat=claimed_excl, claimed_incl_vat=claimed_incl,
                                message=f"no published tariff for this CDR (it names: {names})")
    zone, note = zone_for_cdr(cdr, agreement_zone)
    try:
        tariff = parse_tariff(tariff_json)
        if currency is not None and tariff.currency != currency:
            raise TariffError("currency", f"the CDR is in {currency}, tariff {tariff.id} in "
                                          f"{tariff.currency}")
        result = reprice(dict(cdr), tariff, zone, tolerance)
    except (InvalidInput, ArithmeticError) as exc:
        return RepricingOutcome(ERROR, tolerance, tariff_id=str(tariff_json.get("id")),
                                tariff_source=source, currency=currency,
                                claimed_excl_vat=claimed_excl, claimed_incl_vat=claimed_incl,
                                message=exc.message if isinstance(exc, InvalidInput)
                                else str(exc))
    priced = result.priced
    explanation = {**explanation_json(priced), "text": explanation_text(priced)}
    return RepricingOutcome(
        OK if result.within_tolerance else OUTSIDE, tolerance, tariff_id=priced.tariff_id,
        tariff_source=source, currency=priced.currency,
        claimed_excl_vat=claimed_excl, computed_excl_vat=priced.total.excl_vat,
        claimed_incl_vat=claimed_incl, computed_incl_vat=priced.total.incl_vat,
        differences=tuple({"field": d.field, "claimed": d.claimed, "computed": d.computed,
                           "delta": d.delta} for d in result.differences),
        explanation=explanation, notes=(note,) if note else ())
