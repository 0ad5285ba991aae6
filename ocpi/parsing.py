"""Reading OCPI requests: JSON bodies (Decimals exact) and pagination parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from pydantic import BaseModel

from hub.settings import Settings
from ocpi.encoding import format_datetime, loads
from ocpi.errors import INVALID_PARAMETERS, OcpiError
from ocpi.schemas import DateTime

M = TypeVar("M", bound=BaseModel)


async def json_body(request: Request) -> Any:
    """status_codes: a body that is not valid JSON is HTTP 400."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return loads(raw)
    except ValueError as exc:
        raise OcpiError(INVALID_PARAMETERS, "request body is not valid JSON", 400) from exc


async def parse_body(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    """The body as ``model`` and as the raw dict. Valid JSON but an invalid object is 2001
    with HTTP 200 (status_codes: it reached the OCPI layer); the ValidationError is turned
    into that answer by ``ocpi.errors``."""
    data = await json_body(request)
    if not isinstance(data, dict):
        raise OcpiError(INVALID_PARAMETERS, f"expected a {model.__name__} object")
    return model.model_validate(data), data


@dataclass(frozen=True)
class Page:
    date_from: datetime | None
    date_to: datetime | None
    offset: int
    limit: int | None

    def bounded_limit(self, settings: Settings) -> int:
        """transport_and_format (Paginated Response): the server may return fewer; X-Limit
        shows our upper limit."""
        return min(self.limit or settings.ocpi.page_limit, settings.ocpi.max_page_limit)

    def headers(self, base_url: str, total: int, limit: int) -> dict[str, str]:
        headers = {"X-Total-Count": str(total), "X-Limit": str(limit)}
        if self.offset + limit < total:
            params: dict[str, str] = {"offset": str(self.offset + limit), "limit": str(limit)}
            if self.date_from is not None:
                params["date_from"] = format_datetime(self.date_from)
            if self.date_to is not None:
                params["date_to"] = format_datetime(self.date_to)
            headers["Link"] = f'<{base_url}?{urlencode(params)}>; rel="next"'
        return headers


async def page_params(
    date_from: Annotated[DateTime | None, Query()] = None,
    date_to: Annotated[DateTime | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page:
    return Page(date_from, date_to, offset, limit)


PageParams = Annotated[Page, Depends(page_params)]
