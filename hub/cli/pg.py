"""PostgreSQL housekeeping for the demo and tests: one schema per hub process."""

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


def _checked(schema: str) -> str:
    if not _SAFE.match(schema):
        raise ValueError(f"unsafe schema name {schema!r}")
    return schema


async def acreate_schema(url: str, schema: str) -> None:
    await _execute(url, f'CREATE SCHEMA IF NOT EXISTS "{_checked(schema)}"')


async def adrop_schema(url: str, schema: str) -> None:
    await _execute(url, f'DROP SCHEMA IF EXISTS "{_checked(schema)}" CASCADE')


def create_schema(url: str, schema: str) -> None:
    asyncio.run(acreate_schema(url, schema))


def drop_schema(url: str, schema: str) -> None:
    asyncio.run(adrop_schema(url, schema))
