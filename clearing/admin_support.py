"""Shared pieces of the clearing admin routers: errors -> HTTP, tariffs <-> stored rows."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import HTTPException

from clearing.jsonio import to_store, wire
from clearing.tariffs import OcpiTariff, parse_tariff
from clearing.tariffs.adapt import tariff_json
from hub.db.models import PartyRow, TariffRow
from hub.domain import Conflict, InvalidInput, NotFound, TariffPrice
from hub.services.network import tariff_from_row
from hub.services.tariffs import TariffFields

T = TypeVar("T")


async def run(work: Awaitable[T]) -> T:
    """Domain errors -> HTTP: unknown -> 404, conflict -> 409, bad input -> 422 with the
    message naming the field (``TariffError``: ``<field path>: <problem>``)."""
    try:
        return await work
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc
    except Conflict as exc:
        raise HTTPException(409, exc.message) from exc
    except InvalidInput as exc:
        raise HTTPException(422, exc.message) from exc


def _price(p: Any) -> TariffPrice | None:
    return None if p is None else TariffPrice(p.excl_vat, p.incl_vat)


def tariff_fields(t: OcpiTariff) -> TariffFields:
    return TariffFields(
        currency=t.currency, type=t.type, min_price=_price(t.min_price),
        max_price=_price(t.max_price), start_date_time=t.start_date_time,
        end_date_time=t.end_date_time, alt_text=t.alt_text[0][1] if t.alt_text else None)


def validated(data: dict[str, Any]) -> tuple[OcpiTariff, dict[str, Any]]:
    """Parse (TariffError names the field) and give the JSON to store (numbers as strings)."""
    tariff = parse_tariff(data)
    return tariff, to_store(data)


def row_json(row: TariffRow, party: PartyRow) -> dict[str, Any]:
    """The stored tariff as OCPI 2.2.1 JSON (exact numbers); skeleton tariffs without the
    full JSON are rebuilt from their elements."""
    base = dict(row.ocpi) if row.ocpi else tariff_json(tariff_from_row(row, party))
    base["last_updated"] = row.last_updated.isoformat()
    return dict(wire(base))


def row_tariff(row: TariffRow, party: PartyRow) -> OcpiTariff:
    return parse_tariff(row_json(row, party))


def decimal_field(data: dict[str, Any], key: str, default: Decimal | None = None
                  ) -> Decimal | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise InvalidInput(f"{key}: must be a number")
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise InvalidInput(f"{key}: must be a number") from exc
