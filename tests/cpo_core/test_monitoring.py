"""Station health monitoring and recovery: faulted/unresponsive -> soft, hard reset, alarm."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from ocpp.v16 import call
from sqlalchemy import select

from cpo_core.base import format_timestamp
from cpo_core.bootstorm import BootGate
from cpo_core.monitoring import (
    Event,
    HealthMonitor,
    State,
    StationHealth,
    decide,
    next_state,
)
from hub.app import running_hub
from hub.db.models import AlarmRow, StationRow
from tests.cpo_core.factories import PASSWORD, seed_station
from tests.cpo_core.monitoring_station import commanded_station

FAST = {"fault_seconds": 0, "recovery_seconds": 0, "probe_after_seconds": 1e9,
        "probe_timeout_seconds": 0.3}


async def _alarms(ctx, status: str = "ACTIVE") -> dict[str, AlarmRow]:
    async with ctx.sessionmaker() as session:
        rows = (await session.scalars(select(AlarmRow).where(AlarmRow.status == status))).all()
    return {r.kind: r for r in rows}


async def _health(ctx, station_id: str) -> str:
    async with ctx.sessionmaker() as session:
        row = await session.get(StationRow, station_id)
    assert row is not None
    return row.health_state


async def _status(cp, connector: int, status: str) -> None:
    await cp.call(call.StatusNotification(
        connector_id=connector, error_code="OtherError" if status == "Faulted" else "NoError",
        status=status, timestamp=format_timestamp(datetime.now(UTC))))


def test_table_escalates_and_gives_up_at_the_reset_limit() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    h = StationHealth(since=now, state=State.FAULTED, faulted={0})
    kw = {"connected": True, "fault_seconds": 60, "recovery_seconds": 60}
    assert decide(h, now=now + timedelta(seconds=59), resets_left=3, **kw) is None
    assert decide(h, now=now + timedelta(seconds=60), resets_left=3, **kw) is Event.ESCALATE
    assert decide(h, now=now + timedelta(seconds=60), resets_left=0, **kw) \
        is Event.LIMIT_REACHED
    assert next_state(State.FAULTED, Event.LIMIT_REACHED) is State.GAVE_UP
    assert next_state(State.RECOVERING_SOFT, Event.RESET_FAILED) is State.RECOVERING_HARD
    # A disconnect while recovering is the reboot we asked for: no change.
    assert next_state(State.RECOVERING_SOFT, Event.DISCONNECTED) is State.RECOVERING_SOFT
    assert next_state(State.HEALTHY, Event.DISCONNECTED) is State.OFFLINE


async def test_faulted_station_gets_soft_then_hard_reset_then_alarm(make_settings) -> None:
    settings = await asyncio.to_thread(make_settings, monitoring=FAST)
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "ST-F")
        monitor = ctx.components["monitor"]
        assert isinstance(monitor, HealthMonitor)
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with commanded_station(url, "ST-F", PASSWORD) as cp:
            assert (await cp.boot()).status == "Accepted"
            await _status(cp, 0, "Faulted")
            await monitor.check()
            assert await _health(ctx, "ST-F") == "FAULTED"
            assert "faulted" in await _alarms(ctx)
            await monitor.check()
            assert cp.names("Reset") == [{"type": "Soft"}]
            await monitor.check()
            assert cp.names("Reset") == [{"type": "Soft"}, {"type": "Hard"}]
            await monitor.check()
            assert await _health(ctx, "ST-F") == "GAVE_UP"
            active = await _alarms(ctx)
            assert set(active) == {"faulted", "reset_failed"}
            assert active["reset_failed"].station_id == "ST-F"
            await monitor.check()  # gave up: no more resets
            assert len(cp.names("Reset")) == 2
            # The station recovers by itself: back to HEALTHY, alarms cleared.
            await _status(cp, 0, "Available")
            await monitor.check()
            assert await _health(ctx, "ST-F") == "HEALTHY"
            assert await _alarms(ctx) == {}
            assert set(await _alarms(ctx, "CLEARED")) == {"faulted", "reset_failed"}


async def test_reset_limit_per_window_gives_up_early(make_settings) -> None:
    settings = await asyncio.to_thread(make_settings, monitoring={**FAST, "max_resets": 1})
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "ST-L")
        monitor = ctx.components["monitor"]
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with commanded_station(url, "ST-L", PASSWORD) as cp:
            await cp.boot()
            await _status(cp, 1, "Faulted")
            for _ in range(4):
                await monitor.check()
            assert cp.names("Reset") == [{"type": "Soft"}]
            assert await _health(ctx, "ST-L") == "GAVE_UP"
            assert "reset_failed" in await _alarms(ctx)


async def test_unresponsive_station_is_probed_then_reset(make_settings) -> None:
    settings = await asyncio.to_thread(
        make_settings, monitoring={**FAST, "probe_after_seconds": 0})
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "ST-U")
        monitor = ctx.components["monitor"]
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with commanded_station(url, "ST-U", PASSWORD) as cp:
            await cp.boot()
            await monitor.check()  # answers the probe: healthy
            assert cp.names("TriggerMessage") == [{"requested_message": "Heartbeat"}]
            assert await _health(ctx, "ST-U") == "HEALTHY"
            cp.hang = True
            await monitor.check()  # probe unanswered
            assert await _health(ctx, "ST-U") == "UNRESPONSIVE"
            await monitor.check()  # soft reset unanswered -> hard unanswered -> gave up
            assert await _health(ctx, "ST-U") == "GAVE_UP"
            assert "reset_failed" in await _alarms(ctx)


async def test_boot_storm_gets_pending_with_back_off(make_settings) -> None:
    settings = await asyncio.to_thread(make_settings, monitoring={
        "boot_storm_threshold": 2, "boot_storm_window_seconds": 60,
        "boot_storm_busy_calls": 0,  # by rate alone
        "boot_pending_base_seconds": 30, "boot_pending_max_seconds": 100})
    async with running_hub(settings) as ctx:
        for sid in ("B-1", "B-2", "B-3"):
            await seed_station(ctx, sid)
        t0 = datetime.now(UTC)
        ctx.clock = lambda: t0
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with commanded_station(url, "B-1", PASSWORD) as b1, \
                commanded_station(url, "B-2", PASSWORD) as b2, \
                commanded_station(url, "B-3", PASSWORD) as b3:
            assert (await b1.boot()).status == "Accepted"
            assert (await b2.boot()).status == "Accepted"
            answers = [await b3.boot() for _ in range(4)]
            assert [a.status for a in answers] == ["Pending"] * 4
            assert [a.interval for a in answers] == [30, 60, 100, 100]
            ctx.clock = lambda: t0 + timedelta(seconds=61)  # the storm is over
            assert (await b3.boot()).status == "Accepted"
            async with ctx.sessionmaker() as session:
                b3_row = await session.get(StationRow, "B-3")
            # Pending boots were not recorded; the accepted one was.
            assert b3_row is not None and b3_row.last_boot_at == t0 + timedelta(seconds=61)


async def test_boot_storm_the_hub_keeps_up_with_is_not_slowed_down(make_settings) -> None:
    """Over the rate but with fewer CALLs being handled than boot_storm_busy_calls (here: the
    boot itself is the only one), every boot is Accepted."""
    settings = await asyncio.to_thread(make_settings, monitoring={
        "boot_storm_threshold": 1, "boot_storm_window_seconds": 60,
        "boot_storm_busy_calls": 2})
    async with running_hub(settings) as ctx:
        for sid in ("C-1", "C-2", "C-3"):
            await seed_station(ctx, sid)
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with commanded_station(url, "C-1", PASSWORD) as c1, \
                commanded_station(url, "C-2", PASSWORD) as c2, \
                commanded_station(url, "C-3", PASSWORD) as c3:
            assert [(await c.boot()).status for c in (c1, c2, c3)] == ["Accepted"] * 3
    gate = BootGate(settings.monitoring)
    now = datetime.now(UTC)
    assert gate.admit("X-1", now) is None
    with patch("cpo_core.bootstorm.calls_in_flight", return_value=2):  # busy: Pending
        assert gate.admit("X-2", now) == settings.monitoring.boot_pending_base_seconds
    assert gate.admit("X-2", now) is None  # backlog gone: Accepted


async def test_security_events_raise_alarms(make_settings) -> None:
    from hub.db.base import transaction
    from hub.db.models import SecurityEventRow

    settings = await asyncio.to_thread(make_settings)
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "ST-S")
        now = ctx.clock()
        async with transaction(ctx.sessionmaker) as session:
            session.add(SecurityEventRow(station_id="ST-S", type="StartupOfTheDevice",
                                         timestamp=now, received_at=now))
            session.add(SecurityEventRow(station_id="ST-S", type="TamperDetectionActivated",
                                         timestamp=now, received_at=now))
        await ctx.components["monitor"].check()
        active = await _alarms(ctx)
        assert set(active) == {"security_event"}
        assert active["security_event"].details["type"] == "TamperDetectionActivated"
        assert active["security_event"].count == 1
