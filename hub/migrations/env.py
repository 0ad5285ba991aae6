"""Alembic environment: async engine from the hub's settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

import hub.db.models  # noqa: F401  (registers the tables)
from hub.db.base import Base, make_engine
from hub.settings import Settings

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    settings = config.attributes.get("settings") or Settings()
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async(settings))


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `hub db upgrade`")
run_migrations_online()
