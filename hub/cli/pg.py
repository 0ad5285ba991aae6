"""PostgreSQL housekeeping for the demo and tests: schemas per hub."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

_SAFE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


async def _execute(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def create_schema(url: str, schema: str) -> None:
    if not _SAFE.match(schema):
        raise ValueError(f"unsafe schema name {schema!r}")
    asyncio.run(_execute(url, f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


def drop_schema(url: str, schema: str) -> None:
    if not _SAFE.match(schema):
        raise ValueError(f"unsafe schema name {schema!r}")
    asyncio.run(_execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
