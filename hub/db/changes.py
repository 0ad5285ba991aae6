"""Generations of tables that in-process caches depend on.

A cache (e.g. the OCPI edge's caller cache: token -> partner, parties, agreements) stores the
generation of the tables it read; any committed unit of work that wrote one of them bumps the
generation, so the next lookup misses and reads the database again. Writes are seen whether
they go through the ORM (flushes) or through Core statements executed on an ORM session
(``session.execute(update(...))``). The bump happens after the commit, so a reader can never
cache the old state under the new generation.

Other processes (a second ``hub serve``, a CLI command) learn of such writes through the
database: a unit of work that wrote a table some cache depends on (``track``) also bumps the
one-row ``change_counter`` in the same transaction, and ``foreign_changes`` (called by
``hub.db.refcache`` at most every ``POLL_SECONDS``) reports when the counter moved for another
reason than this process's own bumps. The OCPI edge's caches bound their lifetime instead
(``HUB_OCPI__CALLER_CACHE_SECONDS``).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import column, event, select, table, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

_generations: dict[str, int] = {}
_FLAG = "hub_changed_tables"
# Execution option of writes that only touch live-state columns no cache holds (a station's
# last_seen_at/connected, an EVSE's status, a location's last_updated): they bump nothing, so
# the reference caches (``hub.db.refcache``) keep hitting while stations report.
VOLATILE = {"hub_volatile": True}


# Another process's writes are noticed within this many seconds of the next cache lookup.
POLL_SECONDS = 1.0
_COUNTER = table("change_counter", column("id"), column("value"))  # hub.db.models
_BUMPED = "hub_change_counter_bumped"
# Tables some in-process cache depends on; a unit that writes one bumps the counter.
_tracked: set[str] = set()


@dataclass
class _Remote:
    known: int | None = None  # the counter as this process has accounted for it
    checked_at: float = float("-inf")


_remote: weakref.WeakKeyDictionary[Engine, _Remote] = weakref.WeakKeyDictionary()


def track(tables: tuple[str, ...]) -> None:
    """Declare that a cache depends on ``tables`` (so that their writers bump the counter)."""
    if not _tracked.issuperset(tables):
        _tracked.update(tables)


async def foreign_changes(session: AsyncSession) -> bool:
    """Has another process written tracked tables since the last call that returned? Reads
    the counter at most every ``POLL_SECONDS`` per database; False in between."""
    engine = session.sync_session.get_bind()
    assert isinstance(engine, Engine)
    state = _remote.get(engine)
    if state is None:
        state = _remote[engine] = _Remote()
    now = time.monotonic()
    if now - state.checked_at < POLL_SECONDS:
        return False
    state.checked_at = now
    value = (await session.execute(select(_COUNTER.c.value).where(_COUNTER.c.id == 1))).scalar()
    if value is None:
        return False
    changed = state.known is not None and value != state.known
    state.known = value
    return changed


def generation(*tables: str) -> int:
    """A number that changes whenever one of ``tables`` was written and committed."""
    return sum(_generations.get(t, 0) for t in tables)


def touched(session: Session, tables: tuple[str, ...]) -> bool:
    """Has this (uncommitted) unit of work written one of ``tables``? A cache must not keep
    what such a unit reads: it may still roll back."""
    changed = session.info.get(_FLAG)
    if changed and not changed.isdisjoint(tables):
        return True
    return any(getattr(getattr(o, "__table__", None), "name", None) in tables
               for o in chain(session.new, session.dirty, session.deleted))


def _mark(session: Session, tables: set[str]) -> None:
    if tables:
        session.info.setdefault(_FLAG, set()).update(tables)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    _mark(session, {o.__table__.name for o in chain(session.new, session.dirty, session.deleted)
                    if hasattr(o, "__table__")})


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and not \
            state.execution_options.get("hub_volatile"):
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name:
            _mark(state.session, {name})


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """Bump the counter in the committing transaction when a tracked table was written."""
    written = set(session.info.get(_FLAG, ()))
    written.update(o.__table__.name for o in chain(session.new, session.dirty, session.deleted)
                   if hasattr(o, "__table__"))
    if written.isdisjoint(_tracked):
        return
    value = session.execute(update(_COUNTER).where(_COUNTER.c.id == 1)
                            .values(value=_COUNTER.c.value + 1)
                            .returning(_COUNTER.c.value)).scalar()
    session.info[_BUMPED] = (session.get_bind(), value)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for name in session.info.pop(_FLAG, ()):
        _generations[name] = _generations.get(name, 0) + 1
    bumped = session.info.pop(_BUMPED, None)
    if bumped is not None:
        engine, value = bumped
        state = _remote.get(engine)
        # Our own bump, with no other process's in between: nothing foreign to report (the
        # generations above already invalidate this process's entries). Otherwise the next
        # poll sees a value it has not accounted for.
        if state is not None and state.known is not None and value == state.known + 1:
            state.known = value


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_BUMPED, None)
