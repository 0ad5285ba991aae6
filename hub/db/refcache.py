"""Reference data read on the OCPP hot path, cached in memory per database (docs/ocpp.md
"Performance").

A StartTransaction needs the operator's own party, the connector's EVSE and location, the
location's tariff, the station's vend settings and whether a remote start or reservation is
waiting; a StopTransaction the location snapshot and the price-model links. These change rarely
and are read on every session, so they are kept here as plain immutable values (never ORM rows)
under the generation of the tables they were read from (``hub.db.changes``): a committed write
to one of those tables by this process makes the next lookup read the database again. Writes of
live state (``changes.VOLATILE``: last seen, EVSE status) bump nothing. Writes by another
process's units of work (a CLI command, a second hub) bump the database's change counter: the
first lookup after ``changes.POLL_SECONDS`` empties this cache. Writes that bypass units of work
(SQL typed by hand) are seen after ``MAX_AGE_SECONDS`` at most.

A unit of work that has itself written one of the tables reads the database, and what it reads
is not kept (the unit may still roll back).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.changes import foreign_changes, generation, touched, track

T = TypeVar("T")
MAX_AGE_SECONDS = 300.0
MAX_ENTRIES = 100_000  # per database; cleared when full (keys: stations, EVSEs, locations)

_caches: weakref.WeakKeyDictionary[Engine, dict[Hashable, tuple[Any, int, float]]] = (
    weakref.WeakKeyDictionary())


async def _usable_cache(session: AsyncSession, tables: tuple[str, ...]
                        ) -> dict[Hashable, tuple[Any, int, float]] | None:
    """This database's cache (emptied if another process wrote), or None when this unit has
    written one of ``tables`` itself (what it reads may still roll back)."""
    engine = session.sync_session.get_bind()
    assert isinstance(engine, Engine)
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = {}
    track(tables)
    if await foreign_changes(session):
        cache.clear()
    return None if touched(session.sync_session, tables) else cache


async def cached(session: AsyncSession, key: Hashable, tables: tuple[str, ...],
                 load: Callable[[], Awaitable[T]]) -> T:
    """``await load()``, or its earlier result for ``key`` while ``tables`` are unchanged."""
    cache = await _usable_cache(session, tables)
    if cache is None:
        return await load()  # this unit's own uncommitted writes: read them, keep nothing
    seen = generation(*tables)
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[1] == seen and hit[2] > now:
        value: T = hit[0]
        return value
    value = await load()
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = (value, seen, now + MAX_AGE_SECONDS)
    return value


async def prime(session: AsyncSession, tables: tuple[str, ...],
                load: Callable[[], Awaitable[Iterable[tuple[Hashable, Any]]]]) -> int:
    """Store what ``load`` reads in bulk (key, value pairs: e.g. every station's facts at
    start-up) as ``cached`` would have stored each value under its key; returns how many."""
    cache = await _usable_cache(session, tables)
    if cache is None:
        return 0
    seen = generation(*tables)  # before the read, as in ``cached``
    items = await load()
    expires = time.monotonic() + MAX_AGE_SECONDS
    stored = 0
    for key, value in items:
        if len(cache) >= MAX_ENTRIES:
            break
        cache[key] = (value, seen, expires)
        stored += 1
    return stored
