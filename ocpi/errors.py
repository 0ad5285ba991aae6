"""OCPI errors: one table from domain errors to OCPI status codes, and the route class that
applies it to every /ocpi endpoint (and only there: the admin API keeps FastAPI's defaults).

OCPI 2.2.1 status_codes: a request that is valid JSON, authenticated and addressing an existing
resource has "reached the OCPI layer" and gets no HTTP error status, only an OCPI status_code
(so a semantically invalid body is HTTP 200 + 2001). Unparseable JSON is HTTP 400; a missing or
unknown credentials token is HTTP 401 (transport_and_format: Authorization header); a GET of a
missing object is HTTP 404.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError

from hub.domain import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PartnerUnavailable,
    Unauthorized,
)
from ocpi.journal import CORRELATION_ID, Entry, module_of, record
from ocpi.response import ocpi_response

log = structlog.get_logger("ocpi.errors")

GENERIC_CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
NOT_ENOUGH_INFORMATION = 2002
UNKNOWN_LOCATION = 2003
UNKNOWN_TOKEN = 2004
GENERIC_SERVER_ERROR = 3000
CLIENT_API_UNUSABLE = 3001
UNSUPPORTED_VERSION = 3002
NO_MATCHING_ENDPOINTS = 3003


class OcpiError(Exception):
    """An answer with an OCPI status code (and the HTTP status that goes with it)."""

    def __init__(self, status_code: int, message: str, http_status: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.http_status = http_status
        self.headers = headers or {}


def unauthorized(message: str = "missing or unknown credentials token") -> OcpiError:
    # transport_and_format (Authorization header): HTTP 401; the body is still an envelope.
    return OcpiError(GENERIC_CLIENT_ERROR, message, 401)


def method_not_allowed(message: str) -> OcpiError:
    # credentials (POST/PUT/DELETE): HTTP 405 for a wrong registration state.
    return OcpiError(GENERIC_CLIENT_ERROR, message, 405)


# Domain error -> (OCPI status_code, HTTP status). Subclasses are looked up through the MRO.
DOMAIN_ERRORS: dict[type[DomainError], tuple[int, int]] = {
    NotFound: (GENERIC_CLIENT_ERROR, 404),
    InvalidInput: (INVALID_PARAMETERS, 200),
    Conflict: (GENERIC_CLIENT_ERROR, 200),
    Unauthorized: (GENERIC_CLIENT_ERROR, 401),
    Forbidden: (GENERIC_CLIENT_ERROR, 403),
    PartnerUnavailable: (CLIENT_API_UNUSABLE, 200),
}


def translate(exc: Exception) -> OcpiError:
    if isinstance(exc, OcpiError):
        return exc
    if isinstance(exc, DomainError):
        for cls in type(exc).__mro__:
            if cls in DOMAIN_ERRORS:
                code, http = DOMAIN_ERRORS[cls]
                return OcpiError(code, exc.message, http)
    if isinstance(exc, ValidationError):
        return OcpiError(INVALID_PARAMETERS, validation_message(exc))
    if isinstance(exc, RequestValidationError):
        # Bad query or path parameters: FastAPI would say 422; OCPI says 2001 (HTTP 400).
        return OcpiError(INVALID_PARAMETERS, _request_validation_message(exc), 400)
    return OcpiError(GENERIC_SERVER_ERROR, "internal error", 500)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid or missing parameters: " + "; ".join(parts)


def _request_validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in list(exc.errors())[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid or missing parameters: " + "; ".join(parts)


def _routing_headers(request: Request, ids: tuple[str, str]) -> dict[str, str]:
    """transport_and_format (Unique message IDs, Message Routing): echo the ids, swap FROM/TO.
    A request without ids is accepted (deviation) and answered with the ids we made up."""
    headers = {"X-Request-ID": ids[0], "X-Correlation-ID": ids[1]}
    pairs = (("ocpi-from-country-code", "OCPI-to-country-code"),
             ("ocpi-from-party-id", "OCPI-to-party-id"),
             ("ocpi-to-country-code", "OCPI-from-country-code"),
             ("ocpi-to-party-id", "OCPI-from-party-id"))
    for incoming, outgoing in pairs:
        value = request.headers.get(incoming)
        if value:
            headers[outgoing] = value
    return headers


OCPI_PREFIX = "/ocpi"  # where hub.app mounts ocpi_router()
_NO_ROUTING = frozenset({"versions", "credentials", "hubclientinfo", None})
_STATUS_CODE = re.compile(rb'"status_code":\s*(\d+)')


def _incoming_deviations(request: Request, module: str | None) -> list[str]:
    """PROTOCOL_NOTES (OCPI, deviations seen in real peers), as seen on a request to us."""
    found = [name for header, name in (("x-request-id", "no_request_id"),
                                       ("x-correlation-id", "no_correlation_id"))
             if not request.headers.get(header)]
    if module not in _NO_ROUTING and not request.headers.get("ocpi-from-party-id"):
        found.append("no_routing_headers")
    codes = [request.path_params.get(k) for k in ("country_code", "party_id")]
    codes += [request.headers.get("ocpi-from-country-code"),
              request.headers.get("ocpi-from-party-id")]
    if any(isinstance(c, str) and c != c.upper() for c in codes):
        found.append("lowercase_ids")
    return found


def _journal_incoming(request: Request, response: Response, route_path: str,
                      ids: tuple[str, str], started: float) -> None:
    module = module_of(route_path)
    body = getattr(response, "body", b"")
    match = _STATUS_CODE.findall(bytes(body[-200:])) if body else []
    record(request.app.state.hub.http, Entry(
        "in", request.method, route_path, getattr(request.state, "ocpi_partner_id", None),
        module, response.status_code, int(match[-1]) if match else None,
        int((time.perf_counter() - started) * 1000), ids[0], ids[1],
        _incoming_deviations(request, module)))


class OcpiRoute(APIRoute):
    """Every error on an OCPI route becomes an OCPI envelope (never FastAPI's 422 body); every
    request is journaled (ocpi.journal) and serves under its X-Correlation-ID."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        route_path = self.path  # the template: concrete paths may carry token uids

        async def ocpi_handler(request: Request) -> Response:
            started = time.perf_counter()
            ids = (request.headers.get("x-request-id") or str(uuid.uuid4()),
                   request.headers.get("x-correlation-id") or str(uuid.uuid4()))
            token = CORRELATION_ID.set(ids[1])
            try:
                response = await handler(request)
            except Exception as exc:
                error = translate(exc)
                if error.http_status >= 500:
                    log.exception("ocpi.request_failed", route=route_path)
                else:
                    log.info("ocpi.request_refused", route=route_path,
                             status_code=error.status_code, http_status=error.http_status,
                             message=error.message)
                response = ocpi_response(status_code=error.status_code, message=error.message,
                                         http_status=error.http_status)
                response.headers.update(error.headers)
            finally:
                CORRELATION_ID.reset(token)
            for key, value in _routing_headers(request, ids).items():
                response.headers.setdefault(key, value)
            matched = getattr(request.scope.get("route"), "path", route_path)
            if not matched.startswith(OCPI_PREFIX):  # routers included lazily: relative path
                matched = OCPI_PREFIX + matched
            _journal_incoming(request, response, matched, ids, started)
            return response

        return ocpi_handler
