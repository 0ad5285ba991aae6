"""Generations of tables that in-process caches depend on.

A cache (e.g. the OCPI edge's caller cache: token -> partner, parties, agreements) stores the
generation of the tables it read; any committed unit of work that wrote one of them bumps the
generation, so the next lookup misses and reads the database again. Writes are seen whether
they go through the ORM (flushes) or through Core statements executed on an ORM session
(``session.execute(update(...))``). The bump happens after the commit, so a reader can never
cache the old state under the new generation. Writes from other processes are not seen: caches
bound their lifetime as well (``HUB_OCPI__CALLER_CACHE_SECONDS``).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

_generations: dict[str, int] = {}
_FLAG = "hub_changed_tables"
# Execution option of writes that only touch live-state columns no cache holds (a station's
# last_seen_at/connected, an EVSE's status, a location's last_updated): they bump nothing, so
# the reference caches (``hub.db.refcache``) keep hitting while stations report.
VOLATILE = {"hub_volatile": True}


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


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for name in session.info.pop(_FLAG, ()):
        _generations[name] = _generations.get(name, 0) + 1


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_FLAG, None)
