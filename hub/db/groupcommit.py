"""Group commit for the OCPP hot path's plain writes (docs/ocpp.md "Performance").

Most OCPP calls only record what a station reports: a status history row, meter samples and
the session's kWh, the station's last-seen time. Each used to be a unit of work of its own
(session, BEGIN, two statements, COMMIT), which cost several times the whole OCPP exchange. Here
the writes of many stations' calls are collected while the previous batch commits and written
as one transaction: one ``executemany`` per statement, statements in a fixed order (``rank``),
rows in the order they were submitted. A ``returning`` statement hands each caller its own row.

Durability is unchanged: ``write`` returns only after the commit that covers its rows, so a
station gets its CallResult only for what is stored (the caller replies after the await).
Order per station is unchanged as well: a station sends its next call only after the reply.
A batch that fails is retried write by write, each in its own transaction, so one bad write
(e.g. a meter value for a session deleted meanwhile) fails only its own call.

Only statements whose effect does not depend on other writes of the same batch may be used,
apart from the ``rank`` order and an INSERT guarded by a key (``Statement(unless_exists=...)``,
StartTransaction's retransmission check): one SELECT finds which of the batch's keys the table
already holds, those rows and repeats of a key earlier in the batch are not inserted and their
callers get None instead of a row; the others go through the one ``executemany``. (Two
statements per batch, where a conditional ``INSERT ... SELECT ... WHERE NOT EXISTS`` had to run
row by row: one round trip per start on PostgreSQL.) Without a unique constraint the guard is as
strong as a read before the insert: a concurrent transaction of another process inserting the
same key between the two can still make a duplicate.

Writes here bump no table generation (``hub.db.changes``), so they must not touch reference
data that ``hub.db.refcache`` keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import Executable

from hub.db.base import transaction

log = structlog.get_logger("hub.db.groupcommit")

MAX_BATCH = 1000  # writes per transaction (a boot storm queues thousands at once)


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity
class Statement:
    """A Core DML statement built once, with named bind parameters; lower ranks run first.
    ``returning``: an ``INSERT ... RETURNING`` built with ``sort_by_parameter_order=True``;
    each of its writes gets its row back (e.g. the new row's id).
    ``unless_exists``: columns of the INSERT's table (named as the write's parameters) that
    make a key; a write whose key the table already holds, or an earlier write of the batch
    has, is skipped and gets None."""

    sql: Executable
    rank: int
    returning: bool = False
    unless_exists: tuple[Column[Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Write:
    statement: Statement
    params: dict[str, Any]


_Item = tuple[Sequence[Write], asyncio.Future[list[Any]]]


async def execute_writes(session: AsyncSession, writes: Sequence[Write]) -> list[Any]:
    """Run ``writes`` in the caller's unit of work (the same statements a batch runs), for
    callers that need them inside a larger transaction. Returns one entry per write: its
    RETURNING row for a ``returning`` statement (None if its key existed), else None."""
    groups: dict[Statement, list[int]] = {}
    for i, w in enumerate(writes):
        groups.setdefault(w.statement, []).append(i)
    results: list[Any] = [None] * len(writes)
    conn = await session.connection()
    for statement in sorted(groups, key=lambda s: s.rank):
        positions = groups[statement]
        if statement.unless_exists:
            positions = await _new_keys(conn, statement.unless_exists, writes, positions)
            if not positions:
                continue
        rows = [writes[i].params for i in positions]
        result = await conn.execute(statement.sql, rows if len(rows) > 1 else rows[0])
        if statement.returning:
            for i, row in zip(positions, result.all(), strict=True):
                results[i] = row
    return results


async def _new_keys(conn: AsyncConnection, columns: tuple[Column[Any], ...],
                    writes: Sequence[Write], positions: list[int]) -> list[int]:
    """The writes (by position) whose key neither the table nor an earlier write has."""
    names = [c.key for c in columns]
    keys = [tuple(writes[i].params[n] for n in names) for i in positions]
    found = await conn.execute(select(*columns).where(tuple_(*columns).in_(keys)))
    seen = {tuple(row) for row in found}
    new = []
    for i, key in zip(positions, keys, strict=True):
        if key not in seen:
            seen.add(key)
            new.append(i)
    return new


class GroupCommitter:
    """One per database; no task of its own while idle (a drain task runs while writes wait)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._queue: list[_Item] = []
        self._drain: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (for tests and the benchmark's profile)

    async def write(self, *writes: Write) -> list[Any]:
        """Store ``writes`` (in one transaction with other callers' writes); returns after the
        commit (one entry per write: its RETURNING row - None if its key existed - or None),
        raises what storing them raised."""
        if not writes:
            return []
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((writes, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run(), name="group-commit")
        return await asyncio.shield(future)  # a cancelled caller must not cancel the batch

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                results = await self._commit(batch)
            except Exception:
                if len(batch) > 1:
                    log.warning("groupcommit.batch_failed", writes=len(batch))
                for item in batch:  # one by one: only the bad write fails
                    try:
                        [result] = await self._commit([item])
                    except Exception as exc:
                        if not item[1].done():
                            item[1].set_exception(exc)
                    else:
                        if not item[1].done():
                            item[1].set_result(result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _commit(self, batch: Sequence[_Item]) -> list[list[Any]]:
        """One transaction for ``batch``; each item's results."""
        async with transaction(self._sessionmaker) as session:
            flat = await execute_writes(session, [w for writes, _ in batch for w in writes])
        self.batches += 1
        out, at = [], 0
        for writes, _ in batch:
            out.append(flat[at:at + len(writes)])
            at += len(writes)
        return out
