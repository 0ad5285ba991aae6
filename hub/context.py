"""The running hub's shared resources, created in the app's lifespan and passed to the edges.

No module-level engines or clients (STYLE.md habit 7): everything an edge needs is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.db.groupcommit import GroupCommitter
from hub.outbox import OutboxWorker
from hub.ports import CdrPricer, RemoteAuthorizer
from hub.settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class HubContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    pricer: CdrPricer
    remote_authorizer: RemoteAuthorizer | None = None
    outbox_worker: OutboxWorker | None = None
    clock: Callable[[], datetime] = field(default=utcnow)
    # Running parts registered by the composition root (e.g. "ocpp": the OCPP server), so an
    # edge's own admin router can reach them without the kernel knowing their types.
    components: dict[str, Any] = field(default_factory=dict)
    _group_commit: GroupCommitter | None = field(default=None, repr=False)

    @property
    def group_commit(self) -> GroupCommitter:
        """Batched plain writes of the OCPP hot path (hub.db.groupcommit)."""
        if self._group_commit is None:
            self._group_commit = GroupCommitter(self.sessionmaker)
        return self._group_commit

    def outbox_written(self) -> None:
        """Call after committing a transaction that enqueued outbox rows."""
        if self.outbox_worker is not None:
            self.outbox_worker.notify()
