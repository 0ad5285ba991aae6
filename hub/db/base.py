"""Engine and session factory. No module-level engines: the app owns one in its lifespan."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from hub.db.inline_sqlite import async_creator
from hub.settings import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    # hide_parameters: a failing statement's message must not carry idTags or tokens to a log.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = make_url(url).database
        if database and database != ":memory:":
            kwargs["async_creator"] = async_creator(database)
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=-1)
    else:
        kwargs.update(pool_size=settings.database_pool_size,
                      max_overflow=settings.database_max_overflow)
        if settings.database_schema:
            kwargs["connect_args"] = {
                "server_settings": {"search_path": settings.database_schema}}
    engine = create_async_engine(url, **kwargs)
    if "async_creator" in kwargs:
        _inline_engines.add(engine)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per commit; a crash of the process loses nothing, only a
            # power cut can lose the last commits (the usual production setting for WAL).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    return engine


class HubSession(AsyncSession):
    """``AsyncSession`` that skips the close of a session which never touched the database.

    ``async with sessionmaker() as session`` closes the session in a shielded task (a task, a
    shield and their loop turns: about 30 us of CPU). On the OCPP hot path most sessions only
    serve look-ups that hit the in-process caches (``hub.db.refcache``): no transaction began,
    nothing was loaded or added, so there is nothing to release. Any other session closes as
    before.
    """

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        sync = self.sync_session
        if not (sync.in_transaction() or sync.identity_map or sync.new or sync.deleted):
            return
        if self.bind in _inline_engines:
            # SQLite run inline (hub.db.inline_sqlite): the close never yields, so nothing
            # can cancel it halfway, and the connection is back in the pool before another
            # station's call needs one (a close in a task kept it out a loop turn longer,
            # and the pool opened and dropped overflow connections under load).
            await self.close()
            return
        await super().__aexit__(type_, value, traceback)


# Engines whose SQLite connections run inline on the event loop (make_engine).
_inline_engines: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()
# Their pool: connections are cheap to keep and costly to open (a WAL pragma, cold statement
# caches); up to this many are kept, more are opened only while needed.
SQLITE_POOL_SIZE = 16


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=HubSession, expire_on_commit=False)


# SQLite allows one writer at a time; a second one waits in SQLite's busy handler, which
# sleeps (up to 100 ms a turn) and leaves the database idle while the lock is free. So on
# SQLite, units of work queue in-process instead: one at a time per engine, FIFO, no sleeping.
# Re-entrant within a task (a unit that opens another unit does not wait for itself).
_sqlite_gates: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()
_gates_held: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "hub_db_gates_held", default=frozenset())


@asynccontextmanager
async def _sqlite_gate(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    bind = sessionmaker.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        yield
        return
    held = _gates_held.get()
    if id(bind) in held:
        yield
        return
    gate = _sqlite_gates.setdefault(bind.sync_engine, asyncio.Lock())
    async with gate:
        token = _gates_held.set(held | {id(bind)})
        try:
            yield
        finally:
            _gates_held.reset(token)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits at the end, rolls back on error. Services never commit.

    Keep network calls outside a unit of work: on SQLite, units run one at a time.
    """
    async with _sqlite_gate(sessionmaker), sessionmaker() as session, session.begin():
        yield session
