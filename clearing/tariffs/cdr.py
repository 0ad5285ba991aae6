"""OCPI 2.2.1 CDR cost fields from a priced session, and credit CDRs (mod_cdrs.asciidoc).

Every cost field is filled, each as a Price with ``excl_vat`` and ``incl_vat``:
``total_cost`` (after min/max price), ``total_fixed_cost`` (FLAT, except reservation fees),
``total_energy_cost``, ``total_time_cost`` (charging time), ``total_parking_cost``,
``total_reservation_cost`` (reservation time and fees). Volumes: ``total_energy`` (kWh),
``total_time`` (hours, charging + parking), ``total_parking_time`` (hours).

Credit CDRs ("Credit CDRs"): all the data of the original, a new id (original id + "-C" by
default), ``credit: true``, ``credit_reference_id`` = the original id, and every cost field
negated (PROTOCOL_NOTES: negative totals), so that a credit nets its original out.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clearing.tariffs.lines import CATEGORIES
from clearing.tariffs.model import ZERO, TariffError
from clearing.tariffs.totals import Money, PricedSession
from hub.domain import Cdr

COST_FIELDS = {"fixed": "total_fixed_cost", "energy": "total_energy_cost",
               "time": "total_time_cost", "parking": "total_parking_cost",
               "reservation": "total_reservation_cost"}
ALL_COST_FIELDS = ("total_cost", *COST_FIELDS.values())
CREDIT_SUFFIX = "-C"


def price_json(money: Money) -> dict[str, Decimal]:
    return {"excl_vat": money.excl_vat, "incl_vat": money.incl_vat}


def cost_fields(priced: PricedSession) -> dict[str, Any]:
    periods = priced.usage.periods
    out: dict[str, Any] = {
        "currency": priced.currency,
        "total_cost": price_json(priced.total),
        "total_energy": sum((p.energy for p in periods), ZERO),
        "total_time": sum((p.time + p.parking for p in periods), ZERO),
        "total_parking_time": sum((p.parking for p in periods), ZERO),
    }
    for category in CATEGORIES:
        out[COST_FIELDS[category]] = price_json(priced.costs[category])
    return out


def priced_cdr(cdr: dict[str, Any], priced: PricedSession) -> dict[str, Any]:
    """``cdr`` with every cost field (re)computed; its other fields are kept as sent."""
    out = copy.deepcopy(cdr)
    fields = cost_fields(priced)
    for volume in ("total_energy", "total_time", "total_parking_time"):
        if out.get(volume) is not None:
            del fields[volume]  # the CDR's own measured totals stay as sent
    out.update(fields)
    return out


def credit_cdr(cdr: dict[str, Any], *, credit_id: str | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    """The credit CDR for an OCPI CDR (JSON shape, Decimals or numbers)."""
    if cdr.get("credit"):
        raise TariffError("credit", "a credit CDR cannot itself be credited")
    original = str(cdr.get("id") or "")
    if not original:
        raise TariffError("id", "the CDR to credit has no id")
    new_id = credit_id or original + CREDIT_SUFFIX
    if len(new_id) > 39:
        raise TariffError("id", f"credit CDR id {new_id!r} exceeds 39 characters")
    out = copy.deepcopy(cdr)
    out.update(id=new_id, credit=True, credit_reference_id=original)
    for name in ALL_COST_FIELDS:
        value = out.get(name)
        if isinstance(value, dict):
            out[name] = {k: -Decimal(str(v)) for k, v in value.items() if v is not None}
    if now is not None:
        out["last_updated"] = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return out


def credit_domain_cdr(cdr: Cdr, now: datetime, credit_id: str | None = None) -> Cdr:
    """The credit for one of our stored CDRs, as a domain value (negative totals)."""
    if cdr.credit:
        raise TariffError("credit", "a credit CDR cannot itself be credited")
    return replace(
        cdr, id=credit_id or cdr.id + CREDIT_SUFFIX, credit=True,
        total_cost_excl_vat=-cdr.total_cost_excl_vat,
        total_cost_incl_vat=(None if cdr.total_cost_incl_vat is None
                             else -cdr.total_cost_incl_vat),
        last_updated=now,
    )
