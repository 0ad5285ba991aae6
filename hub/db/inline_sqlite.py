"""SQLite for the async engine without a thread hop per statement.

aiosqlite runs every sqlite3 call in a worker thread: a cursor, an execute, a fetch and a close
are four round trips through a queue and the GIL, which cost far more than the SQLite work on a
local WAL file (microseconds). Measured under OCPP load, those hops were half the hub's CPU.
This connection runs the same calls inline on the event loop instead. It is safe here because
units of work are serialised in-process (``hub.db.base`` gate) so a statement never waits for
another writer of this process; another process (a CLI command) can make one wait at most the
busy timeout, which we keep short.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

import aiosqlite

BUSY_TIMEOUT_SECONDS = 5.0


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` whose calls run in the caller's thread."""

    def __await__(self) -> Any:
        async def _open() -> InlineConnection:
            if self._connection is None:
                self._connection = self._connector()
            return self

        return _open().__await__()

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._connection is None and fn is not self._connector:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def async_creator(path: str) -> Any:
    """``create_async_engine(..., async_creator=...)`` for a SQLite file."""

    async def create() -> InlineConnection:
        connector = partial(sqlite3.connect, path, timeout=BUSY_TIMEOUT_SECONDS,
                            check_same_thread=False)
        return await InlineConnection(connector, 64)

    return create
