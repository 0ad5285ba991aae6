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

import asyncio
import base64
import contextlib
import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit
from urllib.request import getproxies

import h11
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
    content: bytes = field(default=b"", repr=False)  # the body as received

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


def _parse(response: httpx.Response | _Answer, decode: bool = True) -> OcpiReply:
    """``decode=False``: only the envelope's status is read (plain floats, ``data`` left None);
    the body stays in ``content`` to be passed on as it is."""
    status_code: int | None = None
    message: str | None = None
    data: Any = None
    content = response.content
    try:
        body = (loads(content) if decode else json.loads(content)) if content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw_code = body.get("status_code")
        status_code = raw_code if isinstance(raw_code, int) else None
        raw_message = body.get("status_message")
        message = str(raw_message) if raw_message is not None else None
        data = body.get("data") if decode else None
    return OcpiReply(response.status_code, status_code, message, data, response.headers,
                     content)


def _deviations(reply: OcpiReply, expect_object: bool) -> tuple[OcpiReply, list[str]]:
    found: list[str] = []
    if reply.http_status == 403:
        found.append("http_403")
    if reply.status_code is None:
        found.append("bare_404" if reply.http_status == 404 else "no_envelope")
    if expect_object and isinstance(reply.data, list) and len(reply.data) == 1:
        found.append("object_in_list")
        reply = OcpiReply(reply.http_status, reply.status_code, reply.message, reply.data[0],
                          reply.headers, reply.content)
    return reply, found


def _check_url(http: httpx.AsyncClient, entry: Entry, url: str, parts: SplitResult) -> None:
    """ocpi.security allow-list, before any byte is sent (refused = OcpiUnreachable). The
    verdict depends on the scheme and host only: an allowed origin is remembered (per
    allow-list and environment) for the next calls."""
    runtime = runtime_for(http)
    if runtime is None:
        return
    settings = runtime.settings
    origin = (parts.scheme, parts.netloc, tuple(settings.ocpi.allowed_hosts),
              settings.environment)
    if origin in runtime.allowed_origins:
        return
    try:
        check_partner_url(settings, url)
        if len(runtime.allowed_origins) < 1000:
            runtime.allowed_origins.add(origin)
    except UrlRefused as exc:
        entry.deviations.append("url_refused")
        record(http, entry)
        log.warning("ocpi.client.url_refused", host=urlsplit(url).hostname, reason=str(exc))
        raise OcpiUnreachable(f"{entry.method} {url}: refused: {exc}") from exc


# -- keep-alive connections for forwarded requests ---------------------------------------------


_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection
    idle_since: float = 0.0

    def usable(self, now: float, idle_s: float) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof() \
            and now - self.idle_since < idle_s

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes


class KeepAlivePool:
    """HTTP/1.1 keep-alive connections per origin (scheme, host, port) for the requests the hub
    forwards between partners (``ocpi.forwarding``), on the event loop's own streams with h11.

    Why not the shared httpx client: a routed request pays this leg on top of the partner's own
    answer (bench/ocpi_load.py (a)), and httpx's layers (pool bookkeeping, anyio, per-request
    models) cost several times the HTTP/1.1 exchange itself. Kept: one connection per
    concurrent request, reused while the server keeps it open (idle at most ``idle_s``; a
    reused one the server has closed meanwhile is retried once on a new connection, before
    any answer byte), TLS with ``httpx.create_ssl_context()`` (the same verification as httpx),
    and httpx's exception types (ConnectError, ConnectTimeout, ReadTimeout, RemoteProtocolError,
    ReadError), so callers handle both alike. Not used (None from :meth:`for_environment`)
    when a proxy is configured in the environment: httpx honours it, this pool would not.
    """

    def __init__(self, max_idle_per_origin: int = 16, idle_s: float = 4.0) -> None:
        self.max_idle = max_idle_per_origin
        self.idle_s = idle_s
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None

    @classmethod
    def for_environment(cls) -> KeepAlivePool | None:
        return None if getproxies() else cls()

    async def request(self, method: str, url: str, headers: dict[str, str],
                      content: bytes | None, timeout_s: float) -> _Answer:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise httpx.UnsupportedProtocol(f"not an http(s) URL: {parts.scheme}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = (parts.scheme, parts.hostname, port)
        # Percent-encoded as httpx does (ids in a path may hold spaces or non-ASCII).
        target = quote(parts.path or "/", safe=_PATH_SAFE) + \
            (f"?{quote(parts.query, safe=_QUERY_SAFE)}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        fields = [("Host", host), *headers.items()]
        if content is not None:
            fields.append(("Content-Length", str(len(content))))
        try:
            event = h11.Request(method=method, target=target, headers=fields)
        except h11.LocalProtocolError as exc:  # e.g. a line break in a header value
            raise httpx.LocalProtocolError(str(exc)) from exc
        for attempt in (0, 1):
            conn, reused = await self._acquire(origin, parts, timeout_s)
            try:
                async with asyncio.timeout(timeout_s):
                    return await self._exchange(origin, conn, event, content, reused)
            except _Stale:
                conn.close()
                if attempt:
                    raise httpx.RemoteProtocolError("server closed the connection") from None
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout(f"no answer in {timeout_s} s") from None
            except (OSError, h11.ProtocolError) as exc:
                conn.close()
                raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")

    async def _acquire(self, origin: tuple[str, str, int], parts: SplitResult,
                       timeout_s: float) -> tuple[_Conn, bool]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now, self.idle_s):
                return conn, True
            conn.close()
        tls = None
        if origin[0] == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            tls = self._ssl
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(origin[1], origin[2], ssl=tls), timeout_s)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connect to {parts.hostname} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return _Conn(reader, writer, h11.Connection(h11.CLIENT)), False

    async def _exchange(self, origin: tuple[str, str, int], conn: _Conn, event: h11.Request,
                        content: bytes | None, reused: bool) -> _Answer:
        out = conn.h11.send(event) or b""
        if content:
            out += conn.h11.send(h11.Data(data=content)) or b""
        out += conn.h11.send(h11.EndOfMessage()) or b""
        try:
            conn.writer.write(out)
            await conn.writer.drain()
        except OSError:
            if reused:
                raise _Stale from None
            raise
        response: h11.Response | None = None
        body: list[bytes] = []
        received = False
        while True:
            ev = conn.h11.next_event()
            if ev is h11.NEED_DATA:
                try:
                    data = await conn.reader.read(65536)
                except OSError:
                    if reused and not received:
                        raise _Stale from None
                    raise
                if not data and reused and not received:
                    raise _Stale
                received = received or bool(data)
                conn.h11.receive_data(data)
            elif isinstance(ev, h11.Response):
                response = ev
            elif isinstance(ev, h11.Data):
                body.append(bytes(ev.data))
            elif isinstance(ev, h11.EndOfMessage):
                break
            elif isinstance(ev, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("server disconnected without a full answer")
            # h11.InformationalResponse (1xx): skipped
        assert response is not None
        self._release(origin, conn)
        return _Answer(response.status_code,
                       httpx.Headers([(k.decode("latin-1"), v.decode("latin-1"))
                                      for k, v in response.headers]), b"".join(body))

    def _release(self, origin: tuple[str, str, int], conn: _Conn) -> None:
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.max_idle:
                conn.idle_since = time.monotonic()
                idle.append(conn)
                return
        conn.close()

    async def aclose(self) -> None:
        conns = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.writer.wait_closed()


class _Stale(Exception):
    """A reused keep-alive connection the server had closed: retried on a new one."""


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
    content: bytes | None = None,
    decode: bool = True,
    pooled: bool = False,
) -> OcpiReply:
    """``body`` is encoded with ``ocpi.encoding.dumps``; ``content`` is JSON already encoded
    (sent as it is). ``decode=False`` leaves the answer undecoded (``OcpiReply.content``; the
    envelope's status_code and message are read): a hub passing the answer on (ocpi.forwarding)
    needs nothing else. ``pooled``: sent over the runtime's :class:`KeepAlivePool` (forwarded
    requests; ``params`` must be in the URL then) when there is one, else over ``http``."""
    parts = urlsplit(url)
    entry = Entry("out", method, safe_path(parts.path), partner_id, module_of(parts.path),
                  request_id=str(uuid.uuid4()),
                  correlation_id=correlation_id or CORRELATION_ID.get() or str(uuid.uuid4()))
    _check_url(http, entry, url, parts)
    all_headers = {
        "Authorization": authorization_header(token, use_base64),
        "X-Request-ID": entry.request_id or "",
        "X-Correlation-ID": entry.correlation_id or "",
        **(headers or {}),
    }
    if body is not None:
        content = dumps(body)
    if content is not None:
        all_headers["Content-Type"] = "application/json"
    runtime = runtime_for(http) if pooled and not params else None
    pool = runtime.pool if runtime is not None else None
    started = time.perf_counter()
    try:
        response: httpx.Response | _Answer
        if pool is not None:
            response = await pool.request(method, url, all_headers, content, timeout_s
                                          or http.timeout.read or 30.0)
        else:
            response = await http.request(
                method, url, content=content, params=params, headers=all_headers,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
    except httpx.HTTPError as exc:
        entry.latency_ms = int((time.perf_counter() - started) * 1000)
        entry.deviations.append("unreachable")
        record(http, entry)
        # Hosts only: paths can carry token uids (mod_tokens authorize), never logged.
        log.info("ocpi.client.unreachable", method=method, host=parts.hostname,
                 error=type(exc).__name__)
        raise OcpiUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    entry.latency_ms = int((time.perf_counter() - started) * 1000)
    reply, found = _deviations(_parse(response, decode), expect_object)
    entry.http_status, entry.status_code = reply.http_status, reply.status_code
    entry.deviations.extend(found)
    record(http, entry)
    log.debug("ocpi.client.reply", method=method, host=parts.hostname,
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
