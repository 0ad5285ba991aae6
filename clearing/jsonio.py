"""Exact JSON for the admin API: Decimals in and out as JSON numbers, never through float.

Requests are read with ``parse_float=Decimal``; responses render Decimals with every digit.
Stored JSON (database JSON columns) keeps Decimals as strings; ``wire`` turns the numeric
fields of a stored OCPI tariff back into numbers.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from hub.domain import InvalidInput

_DECIMAL = re.compile(r'"__decimal__(-?[0-9.]+(?:E[-+]?[0-9]+)?)"')
# OCPI tariff fields that are numbers (mod_tariffs PriceComponent, Price, TariffRestrictions).
TARIFF_NUMBERS = frozenset({"price", "vat", "excl_vat", "incl_vat", "min_kwh", "max_kwh",
                            "min_current", "max_current", "min_power", "max_power"})


def dumps(value: Any) -> str:
    def default(obj: object) -> str:
        if isinstance(obj, Decimal):
            return f"__decimal__{obj:f}"
        if isinstance(obj, datetime | date):
            return obj.isoformat()
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    return _DECIMAL.sub(r"\1", json.dumps(value, default=default))


class ExactJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def exact(content: Any, status_code: int = 200) -> ExactJSONResponse:
    return ExactJSONResponse(content, status_code=status_code)


async def read_json(request: Request) -> Any:
    try:
        return json.loads(await request.body(), parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"body: not JSON ({exc})") from exc


def read_object(value: Any, what: str = "body") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what}: must be a JSON object")
    return value


def to_store(value: Any) -> Any:
    """For a JSON column: Decimals as strings (exact), the rest unchanged."""
    if isinstance(value, dict):
        return {k: to_store(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_store(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def wire(value: Any, key: str = "") -> Any:
    """A stored OCPI tariff with its numeric fields as Decimals again."""
    if isinstance(value, dict):
        return {k: wire(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v, key) for v in value]
    if key in TARIFF_NUMBERS and isinstance(value, str):
        return Decimal(value)
    return value

