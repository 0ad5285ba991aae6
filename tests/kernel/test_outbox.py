from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub import outbox
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import OutboxRow, PartnerRow
from hub.ports import DeliveryError
from hub.settings import OutboxSettings, Settings


class Recorder:
    """A delivery handler that fails a scripted number of times per subject."""

    def __init__(self, failures: dict[str, int], retryable: bool = True) -> None:
        self.failures = dict(failures)
        self.retryable = retryable
        self.delivered: list[str] = []

    async def __call__(self, message: Any) -> None:
        left = self.failures.get(message.subject, 0)
        if left:
            self.failures[message.subject] = left - 1
            raise DeliveryError("partner down", retryable=self.retryable)
        self.delivered.append(message.subject)


async def _setup(settings: Settings, subjects: list[str]) -> Any:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    async with transaction(sm) as s:
        p = PartnerRow(name="p", endpoints=[])
        s.add(p)
        await s.flush()
        for subject in subjects:
            outbox.enqueue(s, "cdr", subject, partner_id=p.id)
    return engine, sm


async def _rows(sm: Any) -> list[OutboxRow]:
    async with transaction(sm) as s:
        return list((await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_retry_with_backoff_then_delivered_in_order(settings: Settings) -> None:
    engine, sm = await _setup(settings, ["a", "b"])
    handler = Recorder({"a": 2})
    cfg = OutboxSettings(backoff_base_seconds=10, backoff_max_seconds=60, max_attempts=5)
    worker = outbox.OutboxWorker(sm, {"cdr": handler}, cfg)
    try:
        t0 = datetime.now(UTC)
        assert await worker.drain_once(t0) == 0
        rows = await _rows(sm)
        # "a" failed and was rescheduled; "b" was held back to keep the partner's order.
        assert [(r.subject, r.status, r.attempts) for r in rows] == [
            ("a", "PENDING", 1), ("b", "PENDING", 0)]
        assert rows[0].next_attempt_at >= t0 + timedelta(seconds=8)
        assert rows[0].last_error is not None and "partner down" in rows[0].last_error
        # Not yet due: nothing happens.
        assert await worker.drain_once(t0 + timedelta(seconds=1)) == 0
        assert handler.delivered == []
        far = t0 + timedelta(hours=1)
        await worker.drain_once(far)
        await worker.drain_once(far + timedelta(hours=1))
        rows = await _rows(sm)
        assert [(r.subject, r.status) for r in rows] == [("a", "DELIVERED"), ("b", "DELIVERED")]
        assert handler.delivered == ["a", "b"]
        assert rows[0].attempts == 3
    finally:
        await engine.dispose()


async def test_dead_letter_after_max_attempts_and_manual_retry(settings: Settings) -> None:
    engine, sm = await _setup(settings, ["x"])
    handler = Recorder({"x": 99})
    cfg = OutboxSettings(backoff_base_seconds=0, backoff_max_seconds=0, max_attempts=3)
    worker = outbox.OutboxWorker(sm, {"cdr": handler}, cfg)
    try:
        for _ in range(5):
            await worker.drain_once(datetime.now(UTC) + timedelta(seconds=1))
        (row,) = await _rows(sm)
        assert (row.status, row.attempts) == ("DEAD", 3)
        handler.failures["x"] = 0
        async with transaction(sm) as s:
            assert await outbox.retry_dead(s, row.id, datetime.now(UTC)) is not None
        await worker.drain_once(datetime.now(UTC) + timedelta(seconds=1))
        (row,) = await _rows(sm)
        assert row.status == "DELIVERED"
        assert handler.delivered == ["x"]
    finally:
        await engine.dispose()


async def test_non_retryable_failure_goes_straight_to_dead(settings: Settings) -> None:
    engine, sm = await _setup(settings, ["y"])
    worker = outbox.OutboxWorker(sm, {"cdr": Recorder({"y": 1}, retryable=False)},
                                 OutboxSettings())
    try:
        await worker.drain_once()
        (row,) = await _rows(sm)
        assert (row.status, row.attempts) == ("DEAD", 1)
    finally:
        await engine.dispose()


async def test_unknown_kind_is_dead_lettered_not_lost(settings: Settings) -> None:
    engine, sm = await _setup(settings, ["z"])
    worker = outbox.OutboxWorker(sm, {}, OutboxSettings())
    try:
        await worker.drain_once()
        (row,) = await _rows(sm)
        assert row.status == "DEAD"
        assert "no handler" in (row.last_error or "")
    finally:
        await engine.dispose()


def test_backoff_grows_and_is_capped() -> None:
    import random

    cfg = OutboxSettings(backoff_base_seconds=2, backoff_max_seconds=60)
    rng = random.Random(1)
    delays = [outbox.backoff(cfg, n, rng) for n in range(1, 10)]
    assert 1.6 <= delays[0] <= 2.4
    assert 12.8 <= delays[3] <= 19.2
    assert max(delays) <= 60


async def test_partners_are_served_concurrently_each_in_order(settings: Settings) -> None:
    """Partner 1's first delivery hangs until partner 2's three messages are through: with
    one partner at a time this pass would never finish."""
    import asyncio

    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    async with transaction(sm) as s:
        slow, fast = PartnerRow(name="slow", endpoints=[]), PartnerRow(name="fast", endpoints=[])
        s.add_all([slow, fast])
        await s.flush()
        for subject in ("s1", "s2"):
            outbox.enqueue(s, "cdr", subject, partner_id=slow.id)
        for subject in ("f1", "f2", "f3"):
            outbox.enqueue(s, "cdr", subject, partner_id=fast.id)
    fast_done = asyncio.Event()
    order: list[str] = []

    async def handler(message: Any) -> None:
        if message.subject == "s1":
            await asyncio.wait_for(fast_done.wait(), timeout=30)
        order.append(message.subject)
        if message.subject == "f3":
            fast_done.set()

    worker = outbox.OutboxWorker(sm, {"cdr": handler}, OutboxSettings(concurrency=4))
    try:
        assert await worker.drain_once() == 5
        assert order == ["f1", "f2", "f3", "s1", "s2"]
        assert {r.status for r in await _rows(sm)} == {"DELIVERED"}
    finally:
        await engine.dispose()
