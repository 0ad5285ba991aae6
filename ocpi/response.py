"""The OCPI response envelope (OCPI 2.2.1 transport_and_format: Response format)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Response

from ocpi.encoding import dumps, format_datetime

SUCCESS = 1000


def envelope(data: Any = None, status_code: int = SUCCESS, message: str | None = None,
             ) -> dict[str, Any]:
    """``data`` is left out when None (transport_and_format: "leave the data field unset")."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    body["status_code"] = status_code
    if message:
        body["status_message"] = message
    body["timestamp"] = format_datetime(datetime.now(UTC))
    return body


def ocpi_response(
    data: Any = None,
    *,
    status_code: int = SUCCESS,
    message: str | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        content=dumps(envelope(data, status_code, message)),
        status_code=http_status,
        media_type="application/json",
        headers=headers,
    )
