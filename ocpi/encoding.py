"""JSON for OCPI: Decimals travel as JSON numbers, exactly; datetimes as UTC with ``Z``.

OCPI 2.2.1 types (number): "Numbers in OCPI are formatted as JSON numbers". Python's ``json``
cannot write a Decimal as a number without going through float, so :func:`dumps` walks the
value itself. :func:`loads` reads every JSON fraction as a Decimal (never a float).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def format_datetime(value: datetime) -> str:
    """OCPI 2.2.1 types (DateTime): RFC 3339 in UTC, ``Z`` designator, optional fraction."""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused; use timezone-aware UTC")
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    return format(value, "f")


class RawJson(str):
    """JSON text already encoded by :func:`dumps` (e.g. a stored object), written as it is:
    a page of stored objects is served without parsing and re-encoding each one."""


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, RawJson):
        out.append(value)
    elif isinstance(value, bool) or value is None:
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        out.append(format_decimal(value))
    elif isinstance(value, datetime):
        out.append(json.dumps(format_datetime(value)))
    elif isinstance(value, Enum):
        _encode(value.value, out)
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("float refused in OCPI JSON; use Decimal")
    else:
        out.append(json.dumps(value))


def dumps(value: Any) -> bytes:
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode()


def loads(body: bytes | str) -> Any:
    return json.loads(body, parse_float=Decimal)


def jsonable(value: Any) -> Any:
    """A value safe for a JSON database column: Decimals as exact strings, datetimes as text."""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
