"""Transactional outbox and its delivery worker (ARCHITECTURE.md, data flow 3-4).

A service writes an :class:`OutboxRow` in the same transaction as the change that caused it
(:func:`enqueue`). The :class:`OutboxWorker` drains due rows in id order, hands each to the
handler registered for its ``kind``, and:

- marks it DELIVERED on success;
- on a retryable failure, schedules the next attempt after an exponential backoff with jitter
  (``base * 2**(attempts-1)``, capped); later rows for the same partner wait while an earlier
  one is pending, so a partner receives its messages in order and an offline partner is not
  flooded;
- after ``max_attempts`` or a non-retryable failure, moves it to DEAD (the dead-letter state the
  admin API lists and can retry).

Nothing is lost on restart: state lives only in the table. Across replicas the select uses
``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.base import transaction
from hub.db.models import OutboxRow
from hub.ports import DeliveryError, DeliveryHandler
from hub.settings import OutboxSettings

log = structlog.get_logger("hub.outbox")

PENDING, DELIVERED, DEAD = "PENDING", "DELIVERED", "DEAD"
# How long a claimed message is hidden from other workers while its handler runs.
CLAIM_LEASE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """What a delivery handler receives (``hub.ports.OutboxMessage``)."""

    id: int
    kind: str
    partner_id: int | None
    subject: str
    payload: dict[str, Any]
    attempts: int


def enqueue(
    session: AsyncSession,
    kind: str,
    subject: str,
    *,
    partner_id: int | None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> OutboxRow:
    now = now or datetime.now(UTC)
    row = OutboxRow(
        created_at=now,
        kind=kind,
        subject=subject,
        partner_id=partner_id,
        payload=payload or {},
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def backoff(settings: OutboxSettings, attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: exponential, capped, with +-20% jitter."""
    raw = min(settings.backoff_base_seconds * (2 ** max(attempts - 1, 0)),
              settings.backoff_max_seconds)
    jitter = (rng or random).uniform(0.8, 1.2)
    return float(min(raw * jitter, settings.backoff_max_seconds))


class OutboxWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, DeliveryHandler],
        settings: OutboxSettings,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._handlers = handlers
        self._settings = settings
        self._wakeup = asyncio.Event()
        self._stopping = False

    def notify(self) -> None:
        """Wake the worker now (called after a commit that enqueued something)."""
        self._wakeup.set()

    async def run(self) -> None:
        log.info("outbox.worker.started")
        while not self._stopping:
            try:
                delivered = await self.drain_once()
            except Exception:  # keep the worker alive whatever a pass throws
                log.exception("outbox.pass_failed")
                delivered = 0
            if delivered:
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wakeup.wait(), timeout=self._settings.poll_interval_seconds
                )

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    async def drain_once(self, now: datetime | None = None) -> int:
        """One pass over due messages; returns how many were delivered.

        Messages to one partner go one after the other, in id order (a failure holds the
        partner's later ones back); different partners, and messages without a partner (e-mail),
        are delivered concurrently, up to ``settings.concurrency`` at a time, so one slow or
        unreachable partner never delays the others and a broadcast to many partners takes
        about as long as the slowest of them.
        """
        now = now or datetime.now(UTC)
        async with self._sessionmaker() as session:
            stmt = (
                select(OutboxRow.id, OutboxRow.partner_id)
                .where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now)
                .order_by(OutboxRow.id)
                .limit(self._settings.batch_size)
            )
            due = list((await session.execute(stmt)).all())
        queues: dict[object, list[int]] = {}
        for row_id, partner_id in due:
            key: object = partner_id if partner_id is not None else ("solo", row_id)
            queues.setdefault(key, []).append(row_id)
        held_back: set[int | None] = set()
        gate = asyncio.Semaphore(max(1, self._settings.concurrency))

        async def partner_queue(ids: list[int]) -> int:
            delivered = 0
            async with gate:
                for row_id in ids:
                    delivered += await self._deliver_one(row_id, held_back)
            return delivered

        return sum(await asyncio.gather(*(partner_queue(ids) for ids in queues.values())))

    async def _deliver_one(self, row_id: int, held_back: set[int | None]) -> int:
        """Claim (commit), call the handler with no transaction open, record (commit).

        The claim pushes ``next_attempt_at`` by a lease, so another replica skips the row
        while it is in flight; a crash between claim and record retries it after the lease
        (at least once; receivers de-duplicate).
        """
        claimed = await self._claim(row_id, held_back)
        if claimed is None:
            return 0
        bound = log.bind(outbox_id=claimed.id, kind=claimed.kind, partner_id=claimed.partner_id)
        handler = self._handlers.get(claimed.kind)
        error: Exception | None = None
        if handler is None:
            error = DeliveryError(f"no handler registered for kind {claimed.kind!r}",
                                  retryable=False)
        else:
            try:
                await handler(claimed)
            except Exception as exc:
                error = exc
        async with transaction(self._sessionmaker) as session:
            row = await session.get(OutboxRow, claimed.id)
            if row is None:
                return 0
            if error is None:
                row.status, row.delivered_at, row.last_error = DELIVERED, datetime.now(UTC), None
                bound.info("outbox.delivered", attempts=row.attempts)
                return 1
            retryable = not isinstance(error, DeliveryError) or error.retryable
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            if not retryable or row.attempts >= self._settings.max_attempts:
                row.status = DEAD
                bound.warning("outbox.dead", attempts=row.attempts, error=row.last_error)
            else:
                delay = backoff(self._settings, row.attempts)
                row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
                bound.info("outbox.retry_scheduled", attempts=row.attempts,
                           delay_s=round(delay, 2), error=row.last_error)
            held_back.add(row.partner_id)
            return 0

    async def _claim(self, row_id: int, held_back: set[int | None]) -> ClaimedMessage | None:
        async with transaction(self._sessionmaker) as session:
            stmt = select(OutboxRow).where(OutboxRow.id == row_id, OutboxRow.status == PENDING)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = (await session.scalars(stmt)).first()
            if row is None:
                return None
            if row.partner_id is not None and (
                row.partner_id in held_back or await _has_earlier_pending(session, row)
            ):
                return None  # an earlier message to this partner is still pending: keep order
            row.attempts += 1
            row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=CLAIM_LEASE_SECONDS)
            return ClaimedMessage(row.id, row.kind, row.partner_id, row.subject,
                                  dict(row.payload or {}), row.attempts)


async def _has_earlier_pending(session: AsyncSession, row: OutboxRow) -> bool:
    earlier = await session.scalar(
        select(OutboxRow.id).where(
            OutboxRow.partner_id == row.partner_id,
            OutboxRow.status == PENDING,
            OutboxRow.id < row.id,
        ).limit(1)
    )
    return earlier is not None


async def retry_dead(session: AsyncSession, outbox_id: int, now: datetime) -> OutboxRow | None:
    row = await session.get(OutboxRow, outbox_id)
    if row is None or row.status != DEAD:
        return None
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now
    return row
