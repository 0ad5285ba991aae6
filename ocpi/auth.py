"""Who is calling: the credentials token in ``Authorization: Token <token>``.

OCPI 2.2.1 transport_and_format (Authorization header): the token is base64-encoded since 2.2,
but many peers send it raw; we try the raw value first, then its base64 decoding (PROTOCOL_NOTES,
OCPI). A missing or unknown token, or a token A used anywhere but versions and credentials,
is HTTP 401.

Issue 5: a partner marked OFFLINE by the still-alive check is still registered (its call proves
it is back). A module the partner's roaming agreement denies (``ocpi.agreements``) is refused
with HTTP 403 and status 2000: OCPI 2.2.1 defines no code for it; 403 says "authenticated, not
permitted" without suggesting the token is wrong.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.changes import generation
from hub.domain import PartyRef
from hub.security import token_hash
from hub.services.parties import party_ref
from hub.services.partners import partner_for_token
from ocpi.agreements import module_allowed
from ocpi.errors import GENERIC_CLIENT_ERROR, OcpiError, unauthorized
from ocpi.journal import module_of
from ocpi.ratelimit import check_rate

CONNECTED = "CONNECTED"
OFFLINE = "OFFLINE"


def hub_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    return ctx


async def _hub_context_dependency(request: Request) -> HubContext:
    """``hub_context`` as a dependency: ``async`` so that FastAPI calls it on the event loop
    (a plain ``def`` dependency runs in the thread pool, a thread hop per request)."""
    return hub_context(request)


@dataclass(frozen=True)
class Caller:
    partner_id: int
    kind: str  # "A": registration token we issued; "C": token of a registered partner
    token: str  # as presented (decoded); never logged
    status: str
    parties: tuple[PartyRef, ...]

    @property
    def registered(self) -> bool:
        return self.kind == "C" and self.status in (CONNECTED, OFFLINE)

    def party(self, country_code: str, party_id: str, role: str) -> PartyRef | None:
        """The caller's party (country_code, party_id) with ``role``, case-insensitively."""
        for p in self.parties:
            if p.role == role and p.same_party(country_code, party_id):
                return p
        return None

    @property
    def is_hub(self) -> bool:
        return any(p.role == "HUB" for p in self.parties)


def _candidates(header: str) -> list[str]:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "token" or not value:
        return []
    value = value.strip()
    found = [value]
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return found
    if decoded and decoded != value and decoded.isprintable():
        found.append(decoded)
    return found


# Tables a cached caller, agreement verdict or route was read from (hub.db.changes).
_CALLER_TABLES = ("partners", "parties", "ocpi_agreements")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TableCache(Generic[K, V]):
    """key -> a value read from ``tables``, for a few seconds.

    Every OCPI request starts with lookups of the caller, its agreement and, when routed, the
    receiver (bench/ocpi_load.py (a): a routed request pays them on top of the partner's own
    answer). An entry is used only while it is younger than its ``ttl``
    (``HUB_OCPI__CALLER_CACHE_SECONDS``) and no unit of work of this process has committed a
    write to one of ``tables`` since it was read: take :meth:`mark` BEFORE reading, store with
    it, and a write committed meanwhile makes the entry stale at once (credentials rotated or
    deleted, status changed, agreement changed, endpoints changed: the next request sees it).
    Writes by another process (a CLI command, another hub replica) are seen after the lifetime
    at most. At most ``limit`` entries (then it starts afresh: keys may come from headers).
    """

    def __init__(self, tables: tuple[str, ...] = _CALLER_TABLES, limit: int = 10_000) -> None:
        self.tables = tables
        self.limit = limit
        self._entries: dict[K, tuple[V, float, int]] = {}

    def mark(self) -> int:
        return generation(*self.tables)

    def get(self, key: K) -> V | None:
        hit = self._entries.get(key)
        if hit is None or hit[1] < time.monotonic() or hit[2] != generation(*self.tables):
            return None
        return hit[0]

    def put(self, key: K, value: V, seen: int, ttl: float) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + ttl, seen)


class _CallerCache:
    """Hash of the Authorization header -> Caller, (partner, module) -> agreement verdict,
    and the routes of ``ocpi.routing`` (receiving party, its platform, agreement and endpoint),
    each a :class:`TableCache`. Unknown tokens and callers not (yet) registered are never
    cached."""

    def __init__(self) -> None:
        self.callers: TableCache[str, Caller] = TableCache()
        self.allowed: TableCache[tuple[int, str], bool] = TableCache()
        self.routes: TableCache[Hashable, Any] = TableCache()


def caches(request: Request) -> _CallerCache:
    """The OCPI edge's in-process caches, kept on the app."""
    cache: _CallerCache | None = getattr(request.app.state, "ocpi_caller_cache", None)
    if cache is None:
        cache = request.app.state.ocpi_caller_cache = _CallerCache()
    return cache


async def identify(request: Request) -> Caller | None:
    ctx = hub_context(request)
    header = request.headers.get("authorization", "")
    ttl = ctx.settings.ocpi.caller_cache_seconds
    limits = ctx.settings.ocpi
    cache = caches(request).callers
    # Keyed by the hash of the whole header (raw or base64 token): a hit costs one hash.
    key = token_hash(header)
    cached = cache.get(key) if ttl > 0 and header else None
    if cached is not None:
        check_rate(request, cached.partner_id, limits.rate_limit_per_second,
                   limits.rate_limit_burst)
        request.state.ocpi_partner_id = cached.partner_id
        return cached
    candidates = _candidates(header)
    if not candidates:
        return None
    seen = cache.mark()
    async with transaction(ctx.sessionmaker) as session:
        for token in candidates:
            found = await partner_for_token(session, token)
            if found is None:
                continue
            row, kind = found
            check_rate(request, row.id, limits.rate_limit_per_second, limits.rate_limit_burst)
            parties = tuple(party_ref(p) for p in row.parties if not p.is_own)
            request.state.ocpi_partner_id = row.id  # for the journal (ocpi.errors)
            caller = Caller(row.id, kind, token, row.status, parties)
            # Only registered callers: a registration in progress (token A, PLANNED) may be
            # completed by another process (`hub partners register`) at any moment.
            if caller.registered:
                cache.put(key, caller, seen, ttl)
            return caller
    return None


async def _module_allowed(request: Request, partner_id: int, module: str) -> bool:
    ctx = hub_context(request)
    ttl = ctx.settings.ocpi.caller_cache_seconds
    cache = caches(request).allowed
    verdict = cache.get((partner_id, module)) if ttl > 0 else None
    if verdict is None:
        seen = cache.mark()
        verdict = await module_allowed(ctx.sessionmaker, partner_id, module)
        cache.put((partner_id, module), verdict, seen, ttl)
    return verdict


async def registration_caller(request: Request) -> Caller:
    """versions and credentials: token A or a registered partner's token."""
    caller = await identify(request)
    if caller is None:
        raise unauthorized()
    return caller


async def partner_caller(request: Request) -> Caller:
    """Functional modules: only a CONNECTED partner's token (never token A)."""
    caller = await identify(request)
    if caller is None or not caller.registered:
        raise unauthorized()
    route = request.scope.get("route")
    module = module_of(getattr(route, "path", request.url.path))
    if module is not None and not await _module_allowed(request, caller.partner_id, module):
        raise OcpiError(GENERIC_CLIENT_ERROR, f"module {module} is not in your roaming "
                        "agreement with this hub", 403)
    return caller


Ctx = Annotated[HubContext, Depends(_hub_context_dependency)]
RegistrationCaller = Annotated[Caller, Depends(registration_caller)]
PartnerCaller = Annotated[Caller, Depends(partner_caller)]
