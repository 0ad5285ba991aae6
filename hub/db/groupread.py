"""Group reads for the OCPP hot path's look-ups that the caches cannot answer (docs/ocpp.md
"Performance").

An Authorize for a card the hub has not seen yet (``hub.services.tokens``) must read the
database. One read per call costs a session, a pooled connection and a round trip each; under
a storm of Authorizes, hundreds of them wait for PostgreSQL at once, the pool opens (and closes
again) a server connection for most of them, and SQLAlchemy's per-statement work dwarfs the
database's. Here concurrent look-ups of the same kind are collected while the previous one runs
and answered together by one ``SELECT ... WHERE key IN (...)`` on one connection, as the group
commit (``hub.db.groupcommit``) does for writes.

A group read sees what is committed, like any read outside a unit of work. A unit of work that
has written the table itself must read through its own session instead (what it wrote is not
committed yet): callers check ``hub.db.changes.touched`` first.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import Executable

MAX_KEYS = 1000  # per SELECT (bind parameter limits; a storm queues thousands at once)


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity
class Lookup:
    """A SELECT built once with an expanding bind parameter ``keys`` (``col.in_(bindparam(
    "keys", expanding=True))``); ``key_of(row)`` is the key a row answers. When several rows
    answer a key, the first one counts (order the statement accordingly)."""

    statement: Executable
    key_of: Callable[[Any], Hashable]  # a result row -> its key


class GroupReader:
    """One per database; no task of its own while idle (a drain task runs while reads wait)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = weakref.ref(engine)
        self._pending: dict[Lookup, dict[Hashable, asyncio.Future[Any]]] = {}
        self._drain: asyncio.Task[None] | None = None
        self.selects = 0  # statements run (for tests and the benchmark's profile)

    async def get(self, lookup: Lookup, key: Hashable) -> Any:
        """The row answering ``key`` (None: no row), read together with other callers'."""
        waiting = self._pending.setdefault(lookup, {})
        future = waiting.get(key)
        if future is None:
            future = waiting[key] = asyncio.get_running_loop().create_future()
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run(), name="group-read")
        return await asyncio.shield(future)  # a cancelled caller must not fail the others

    async def _run(self) -> None:
        while self._pending:
            lookup = next(iter(self._pending))
            waiting = self._pending[lookup]
            batch = dict(list(waiting.items())[:MAX_KEYS])
            for key in batch:
                del waiting[key]
            if not waiting:
                del self._pending[lookup]
            try:
                rows = await self._select(lookup, list(batch))
            except Exception as exc:
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, future in batch.items():
                if not future.done():
                    future.set_result(rows.get(key))

    async def _select(self, lookup: Lookup, keys: Sequence[Hashable]) -> dict[Hashable, Any]:
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the database engine is gone")
        async with engine.connect() as conn:
            result = await conn.execute(lookup.statement, {"keys": keys})
            found: dict[Hashable, Any] = {}
            for row in result:
                found.setdefault(lookup.key_of(row), row)
        self.selects += 1
        return found


_readers: weakref.WeakKeyDictionary[AsyncEngine, GroupReader] = weakref.WeakKeyDictionary()


def group_reader(engine: AsyncEngine) -> GroupReader:
    """This database's group reader."""
    reader = _readers.get(engine)
    if reader is None:
        reader = _readers[engine] = GroupReader(engine)
    return reader
