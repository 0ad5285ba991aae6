"""Helpers shared by CLI commands."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import DomainError
from hub.settings import Settings

T = TypeVar("T")


def settings_from_env() -> Settings:
    return Settings()


def console(text: str) -> None:
    print(text, flush=True)


def fail(message: str, code: int = 1) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


async def in_uow(ctx: HubContext, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    try:
        async with transaction(ctx.sessionmaker) as session:
            return await fn(session)
    except DomainError as exc:
        fail(exc.message)
        raise  # unreachable; keeps type checkers happy
