"""Reference data read on the OCPP hot path, cached in memory per database (docs/ocpp.md
"Performance").

A StartTransaction needs the operator's own party, the connector's EVSE and location, the
location's tariff, the station's vend settings and whether a remote start or reservation is
waiting; a StopTransaction the location snapshot and the price-model links. These change rarely
and are read on every session, so they are kept here as plain immutable values (never ORM rows)
under the generation of the tables they were read from (``hub.db.changes``): a committed write
to one of those tables by this process makes the next lookup read the database again. Writes of
live state (``changes.VOLATILE``: last seen, EVSE status) bump nothing. Writes by another
process (a CLI command) are seen after ``TTL_SECONDS`` at most.

A unit of work that has itself written one of the tables reads the database, and what it reads
is not kept (the unit may still roll back).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.changes import generation, touched

T = TypeVar("T")
TTL_SECONDS = 5.0
MAX_ENTRIES = 100_000  # per database; cleared when full (keys: stations, EVSEs, locations)

_caches: weakref.WeakKeyDictionary[Engine, dict[Hashable, tuple[Any, int, float]]] = (
    weakref.WeakKeyDictionary())


async def cached(session: AsyncSession, key: Hashable, tables: tuple[str, ...],
                 load: Callable[[], Awaitable[T]]) -> T:
    """``await load()``, or its earlier result for ``key`` while ``tables`` are unchanged."""
    engine = session.sync_session.get_bind()
    assert isinstance(engine, Engine)
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = {}
    if touched(session.sync_session, tables):
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
    cache[key] = (value, seen, now + TTL_SECONDS)
    return value
