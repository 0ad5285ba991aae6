"""A short-lived, per-process memory of Authorize verdicts.

A station sends Authorize and, seconds later, StartTransaction for the same idTag. Asking the
eMSP twice in real time costs a slow partner round trip (OCPI real-time authorization), so the
StartTransaction reuses the Authorize verdict for a couple of minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hub.domain import AuthorizationResult

DEFAULT_TTL_SECONDS = 120.0
MAX_ENTRIES = 10_000


class AuthorizationCache:
    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, AuthorizationResult]] = {}

    def get(self, station_id: str, id_tag: str) -> AuthorizationResult | None:
        entry = self._entries.get((station_id, id_tag))
        if entry is None:
            return None
        expires, result = entry
        if expires < self._clock():
            del self._entries[(station_id, id_tag)]
            return None
        return result

    def put(self, station_id: str, id_tag: str, result: AuthorizationResult) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._prune()
        self._entries[(station_id, id_tag)] = (self._clock() + self._ttl, result)

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires < now]:
            del self._entries[key]
        while len(self._entries) >= MAX_ENTRIES:  # still full: drop the oldest insertions
            del self._entries[next(iter(self._entries))]
