"""Outgoing OCPI calls over the hub's shared httpx client.

Every request carries ``Authorization: Token ...`` (base64 by default, raw for peers that want
it), a fresh X-Request-ID and an X-Correlation-ID (OCPI 2.2.1 transport_and_format, Unique
message IDs), and the routing headers when given (Message Routing). Answers are parsed with
Decimals for fractions. Network failures and timeouts become :class:`OcpiUnreachable`.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from hub.domain import PartyRef
from ocpi.encoding import dumps, loads

log = structlog.get_logger("ocpi.client")


class OcpiUnreachable(Exception):
    """No usable HTTP answer: connection refused, timeout, TLS or protocol failure."""


@dataclass(frozen=True)
class OcpiReply:
    http_status: int
    status_code: int | None
    message: str | None
    data: Any
    headers: httpx.Headers = field(repr=False)

    @property
    def ok(self) -> bool:
        """HTTP 2xx and an OCPI success code (1xxx)."""
        return 200 <= self.http_status < 300 and self.status_code is not None \
            and 1000 <= self.status_code < 2000


def authorization_header(token: str, use_base64: bool) -> str:
    # transport_and_format (Authorization header): base64 of the UTF-8 token since 2.2.
    if use_base64:
        return "Token " + base64.b64encode(token.encode()).decode()
    return "Token " + token


def routing_headers(sender: PartyRef | None, receiver: PartyRef | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if sender is not None:
        headers["OCPI-from-country-code"] = sender.country_code
        headers["OCPI-from-party-id"] = sender.party_id
    if receiver is not None:
        headers["OCPI-to-country-code"] = receiver.country_code
        headers["OCPI-to-party-id"] = receiver.party_id
    return headers


def _parse(response: httpx.Response) -> OcpiReply:
    status_code: int | None = None
    message: str | None = None
    data: Any = None
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw_code = body.get("status_code")
        status_code = raw_code if isinstance(raw_code, int) else None
        raw_message = body.get("status_message")
        message = str(raw_message) if raw_message is not None else None
        data = body.get("data")
    return OcpiReply(response.status_code, status_code, message, data, response.headers)


async def ocpi_request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    token: str,
    use_base64: bool,
    body: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float | None = None,
    correlation_id: str | None = None,
) -> OcpiReply:
    all_headers = {
        "Authorization": authorization_header(token, use_base64),
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
        **(headers or {}),
    }
    content = None
    if body is not None:
        content = dumps(body)
        all_headers["Content-Type"] = "application/json"
    try:
        response = await http.request(
            method, url, content=content, params=params, headers=all_headers,
            timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        # Hosts only: paths can carry token uids (mod_tokens authorize), never logged.
        log.info("ocpi.client.unreachable", method=method, host=httpx.URL(url).host,
                 error=type(exc).__name__)
        raise OcpiUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    reply = _parse(response)
    log.debug("ocpi.client.reply", method=method, host=httpx.URL(url).host,
              http_status=reply.http_status, status_code=reply.status_code)
    return reply


async def request_with_token_fallback(
    http: httpx.AsyncClient, method: str, url: str, *, token: str, prefer_base64: bool,
    body: Any = None, timeout_s: float | None = None,
) -> tuple[OcpiReply, bool]:
    """transport_and_format (Authorization header, NOTE): many 2.1.1/2.2 peers want the raw
    token. Try the preferred encoding; on 401/403 try the other. Returns (reply, base64 used).
    Only for the credentials handshake, where a 401 means nothing was processed."""
    reply = await ocpi_request(http, method, url, token=token, use_base64=prefer_base64,
                               body=body, timeout_s=timeout_s)
    if reply.http_status in (401, 403):
        other = await ocpi_request(http, method, url, token=token,
                                   use_base64=not prefer_base64, body=body, timeout_s=timeout_s)
        if other.http_status not in (401, 403):
            return other, not prefer_base64
    return reply, prefer_base64
