"""Message journal: one row per leg of every OCPI exchange (issue 5, item 8).

Recorded: direction ("in" | "out"), partner, module, method, path (the route template for
incoming requests; for outgoing ones the URL path up to the module, later segments as ``*``, so
token uids never land here), HTTP status, OCPI status_code, latency, X-Request-ID,
X-Correlation-ID, and the partner's deviations from the spec (PROTOCOL_NOTES, OCPI). Never a
token, never a body.

Writes are buffered and inserted in batches by a background task (:class:`Journal`), so a
request only appends to a list; :meth:`Journal.close` flushes what is left on shutdown.

The journal and the URL policy are bound to the hub's shared httpx client (:func:`attach`), so
``ocpi.client`` finds them without every caller passing them along. The correlation id of the
incoming request being served lives in :data:`CORRELATION_ID` (transport_and_format, Unique
message IDs: a hub forwarding a request keeps X-Correlation-ID, makes a new X-Request-ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.context import utcnow
from hub.db.base import transaction
from hub.db.models import OcpiJournalRow
from hub.settings import Settings

if TYPE_CHECKING:
    from ocpi.client import KeepAlivePool

log = structlog.get_logger("ocpi.journal")

CORRELATION_ID: ContextVar[str | None] = ContextVar("ocpi_correlation_id", default=None)

MODULES = frozenset({
    "versions", "credentials", "locations", "sessions", "cdrs", "tariffs", "tokens",
    "commands", "chargingprofiles", "hubclientinfo"})
_KEEP = frozenset({"authorize"})


def module_of(path: str) -> str | None:
    """The OCPI module a path belongs to: the first known module name among its segments;
    a version details path (``.../2.2.1``) is ``versions``."""
    segments = [s for s in path.split("/") if s]
    for s in segments:
        if s in MODULES:
            return s
    return "versions" if segments and segments[-1][:1].isdigit() else None


def safe_path(url: str) -> str:
    """URL path up to the module; later segments (ids, token uids) become ``*``."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    out: list[str] = []
    seen_module = False
    for s in segments:
        out.append("*" if seen_module and s not in _KEEP else s)
        seen_module = seen_module or s in MODULES
    return ("/" + "/".join(out))[:255]


@dataclass
class Entry:
    direction: str
    method: str
    path: str
    partner_id: int | None = None
    module: str | None = None
    http_status: int | None = None
    status_code: int | None = None
    latency_ms: int = 0
    request_id: str | None = None
    correlation_id: str | None = None
    deviations: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)

    def row(self) -> dict[str, object]:
        return {
            "created_at": self.created_at, "direction": self.direction,
            "partner_id": self.partner_id, "module": self.module, "method": self.method,
            "path": self.path[:255], "http_status": self.http_status,
            "status_code": self.status_code, "latency_ms": self.latency_ms,
            "request_id": (self.request_id or "")[:64] or None,
            "correlation_id": (self.correlation_id or "")[:64] or None,
            "deviations": ",".join(sorted(set(self.deviations)))[:255] or None,
        }


class Journal:
    """Buffered writer: ``record`` appends; a task inserts batches every ``interval_s``."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession],
                 interval_s: float = 0.25, batch: int = 200) -> None:
        self.sessionmaker = sessionmaker
        self.interval_s = interval_s
        self.batch = batch
        self._buffer: list[Entry] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ocpi-journal")

    def record(self, entry: Entry) -> None:
        self._buffer.append(entry)
        if len(self._buffer) >= self.batch:
            self._wake.set()

    async def flush(self) -> int:
        async with self._lock:
            entries, self._buffer = self._buffer, []
            if not entries:
                return 0
            try:
                async with transaction(self.sessionmaker) as session:
                    await session.execute(insert(OcpiJournalRow), [e.row() for e in entries])
            except Exception:  # the journal must never break the exchange it records
                log.exception("ocpi.journal.flush_failed", lost=len(entries))
                return 0
            return len(entries)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            await self.flush()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    journal: Journal
    pool: KeepAlivePool | None = None  # forwarded requests (ocpi.client, ocpi.forwarding)
    # (scheme, host[:port], allowed hosts, environment) the URL policy allowed (ocpi.client)
    allowed_origins: set[tuple[object, ...]] = field(default_factory=set)


_RUNTIMES: weakref.WeakKeyDictionary[httpx.AsyncClient, Runtime] = weakref.WeakKeyDictionary()


def attach(http: httpx.AsyncClient, runtime: Runtime) -> None:
    _RUNTIMES[http] = runtime


def detach(http: httpx.AsyncClient) -> None:
    _RUNTIMES.pop(http, None)


def runtime_for(http: httpx.AsyncClient) -> Runtime | None:
    return _RUNTIMES.get(http)


def record(http: httpx.AsyncClient, entry: Entry) -> None:
    runtime = runtime_for(http)
    if runtime is not None:
        runtime.journal.record(entry)
