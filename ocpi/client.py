"""Outgoing OCPI calls over the hub's shared httpx client.

Every request carries ``Authorization: Token ...`` (base64 by default, raw for peers that want
it), a fresh X-Request-ID and an X-Correlation-ID (OCPI 2.2.1 transport_and_format, Unique
message IDs), and the routing headers when given (Message Routing). Answers are parsed with
Decimals for fractions. Network failures and timeouts become :class:`OcpiUnreachable`.

Issue 5: the X-Correlation-ID defaults to the one of the incoming request being served
(``ocpi.journal.CORRELATION_ID``); the URL must pass the allow-list (``ocpi.security``, refused
as :class:`OcpiUnreachable` before any byte is sent); every call is journaled
(``ocpi.journal``) with the peer's deviations: ``http_403`` (403 where the spec says 401),
``bare_404`` (404 without an OCPI envelope), ``no_envelope`` (other answers without one),
``object_in_list`` (a single object wrapped in a one-element list, unwrapped when the caller
expects an object).
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from hub.domain import PartyRef
from ocpi.encoding import dumps, loads
from ocpi.journal import CORRELATION_ID, Entry, module_of, record, runtime_for, safe_path
from ocpi.security import UrlRefused, check_partner_url

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


def _deviations(reply: OcpiReply, expect_object: bool) -> tuple[OcpiReply, list[str]]:
    found: list[str] = []
    if reply.http_status == 403:
        found.append("http_403")
    if reply.status_code is None:
        found.append("bare_404" if reply.http_status == 404 else "no_envelope")
    if expect_object and isinstance(reply.data, list) and len(reply.data) == 1:
        found.append("object_in_list")
        reply = OcpiReply(reply.http_status, reply.status_code, reply.message, reply.data[0],
                          reply.headers)
    return reply, found


def _check_url(http: httpx.AsyncClient, entry: Entry, url: str) -> None:
    """ocpi.security allow-list, before any byte is sent (refused = OcpiUnreachable)."""
    runtime = runtime_for(http)
    try:
        if runtime is not None:
            check_partner_url(runtime.settings, url)
    except UrlRefused as exc:
        entry.deviations.append("url_refused")
        record(http, entry)
        log.warning("ocpi.client.url_refused", host=httpx.URL(url).host, reason=str(exc))
        raise OcpiUnreachable(f"{entry.method} {url}: refused: {exc}") from exc


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
    partner_id: int | None = None,
    expect_object: bool = False,
) -> OcpiReply:
    entry = Entry("out", method, safe_path(url), partner_id, module_of(httpx.URL(url).path),
                  request_id=str(uuid.uuid4()),
                  correlation_id=correlation_id or CORRELATION_ID.get() or str(uuid.uuid4()))
    _check_url(http, entry, url)
    all_headers = {
        "Authorization": authorization_header(token, use_base64),
        "X-Request-ID": entry.request_id or "",
        "X-Correlation-ID": entry.correlation_id or "",
        **(headers or {}),
    }
    content = None
    if body is not None:
        content = dumps(body)
        all_headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    try:
        response = await http.request(
            method, url, content=content, params=params, headers=all_headers,
            timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        entry.latency_ms = int((time.perf_counter() - started) * 1000)
        entry.deviations.append("unreachable")
        record(http, entry)
        # Hosts only: paths can carry token uids (mod_tokens authorize), never logged.
        log.info("ocpi.client.unreachable", method=method, host=httpx.URL(url).host,
                 error=type(exc).__name__)
        raise OcpiUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    entry.latency_ms = int((time.perf_counter() - started) * 1000)
    reply, found = _deviations(_parse(response), expect_object)
    entry.http_status, entry.status_code = reply.http_status, reply.status_code
    entry.deviations.extend(found)
    record(http, entry)
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
