"""Per-station health: a state machine as a table, and the monitor that drives it.

Rules (docs/ocpp.md, "Monitoring and recovery"):

1. A station is *bad* while a connector (0 = the whole station) last reported ``Faulted``, or
   while it did not answer a probe (TriggerMessage Heartbeat, sent when it has been silent for
   ``probe_after_seconds``, default heartbeat interval + grace; and on every check while it
   is unresponsive). Observations are in memory, fed by the OCPP handlers (``observe_*``).
2. Every ``check_interval_seconds`` the monitor turns what it sees into one event per station
   (``decide``, a pure function) and looks the next state up in ``TRANSITIONS``. Pairs not in
   the table leave the state as it is (a disconnect while recovering is the reboot we asked for).
3. Entering a state runs its action (``ON_ENTER``): FAULTED raises the ``faulted`` alarm;
   RECOVERING_SOFT sends Reset Soft; RECOVERING_HARD sends Reset Hard (2.0.1: OnIdle and
   Immediate); GAVE_UP raises ``reset_failed``; HEALTHY clears both. A reset that is refused,
   fails or times out is the event RESET_FAILED at once.
4. Bad for ``fault_seconds`` -> escalate; still bad ``recovery_seconds`` after a reset ->
   escalate again. At most ``max_resets`` resets per ``reset_window_seconds``; beyond, GAVE_UP.
5. The state is written to ``stations.health_state`` on every transition.

Scheduling: ``install(ctx, scheduler)`` (one line in hub/app.py) registers the monitor as
``ctx.components["monitor"]`` and, when the scheduler runs, adds the ``check`` job.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v201 import call as call201
from sqlalchemy import select, update

from cpo_core.vend import connection, is_201, stop_idle_sessions
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import StationRow
from hub.services import alarms, network


class State(StrEnum):
    HEALTHY = "HEALTHY"
    FAULTED = "FAULTED"
    UNRESPONSIVE = "UNRESPONSIVE"
    RECOVERING_SOFT = "RECOVERING_SOFT"
    RECOVERING_HARD = "RECOVERING_HARD"
    GAVE_UP = "GAVE_UP"
    OFFLINE = "OFFLINE"


class Event(StrEnum):
    FAULT = "FAULT"
    UNRESPONSIVE = "UNRESPONSIVE"
    RECOVERED = "RECOVERED"
    ESCALATE = "ESCALATE"
    RESET_FAILED = "RESET_FAILED"
    LIMIT_REACHED = "LIMIT_REACHED"
    DISCONNECTED = "DISCONNECTED"


S, E = State, Event
TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.HEALTHY, E.FAULT): S.FAULTED,
    (S.HEALTHY, E.UNRESPONSIVE): S.UNRESPONSIVE,
    (S.HEALTHY, E.DISCONNECTED): S.OFFLINE,
    (S.FAULTED, E.RECOVERED): S.HEALTHY,
    (S.FAULTED, E.ESCALATE): S.RECOVERING_SOFT,
    (S.FAULTED, E.LIMIT_REACHED): S.GAVE_UP,
    (S.FAULTED, E.DISCONNECTED): S.OFFLINE,
    (S.UNRESPONSIVE, E.RECOVERED): S.HEALTHY,
    (S.UNRESPONSIVE, E.ESCALATE): S.RECOVERING_SOFT,
    (S.UNRESPONSIVE, E.LIMIT_REACHED): S.GAVE_UP,
    (S.UNRESPONSIVE, E.DISCONNECTED): S.OFFLINE,
    (S.RECOVERING_SOFT, E.RECOVERED): S.HEALTHY,
    (S.RECOVERING_SOFT, E.ESCALATE): S.RECOVERING_HARD,
    (S.RECOVERING_SOFT, E.RESET_FAILED): S.RECOVERING_HARD,
    (S.RECOVERING_SOFT, E.LIMIT_REACHED): S.GAVE_UP,
    (S.RECOVERING_HARD, E.RECOVERED): S.HEALTHY,
    (S.RECOVERING_HARD, E.ESCALATE): S.GAVE_UP,
    (S.RECOVERING_HARD, E.RESET_FAILED): S.GAVE_UP,
    (S.RECOVERING_HARD, E.LIMIT_REACHED): S.GAVE_UP,
    (S.GAVE_UP, E.RECOVERED): S.HEALTHY,
    (S.OFFLINE, E.RECOVERED): S.HEALTHY,
    (S.OFFLINE, E.FAULT): S.FAULTED,
    (S.OFFLINE, E.UNRESPONSIVE): S.UNRESPONSIVE,
}
SOFT, HARD, RAISE_FAULTED, RAISE_RESET_FAILED, CLEAR = (
    "soft_reset", "hard_reset", "raise_faulted", "raise_reset_failed", "clear")
ON_ENTER: dict[State, str] = {
    S.FAULTED: RAISE_FAULTED, S.RECOVERING_SOFT: SOFT, S.RECOVERING_HARD: HARD,
    S.GAVE_UP: RAISE_RESET_FAILED, S.HEALTHY: CLEAR,
}
RECOVERING = (S.RECOVERING_SOFT, S.RECOVERING_HARD)

log = structlog.get_logger("cpo_core.monitoring")


def next_state(state: State, event: Event) -> State:
    return TRANSITIONS.get((state, event), state)


@dataclass
class StationHealth:
    since: datetime
    state: State = S.HEALTHY
    faulted: set[int] = field(default_factory=set)
    unresponsive: bool = False
    resets: list[datetime] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return bool(self.faulted) or self.unresponsive


def decide(h: StationHealth, *, connected: bool, now: datetime, fault_seconds: float,
           recovery_seconds: float, resets_left: int) -> Event | None:
    """The one event a check feeds the machine for a station (pure; rule 2 and 4)."""
    waited = (now - h.since).total_seconds()
    if not connected:
        if h.state in RECOVERING and waited >= recovery_seconds:
            return E.ESCALATE
        return E.DISCONNECTED
    if not h.bad:
        return E.RECOVERED if h.state is not S.HEALTHY else None
    if h.state in (S.HEALTHY, S.OFFLINE):
        return E.FAULT if h.faulted else E.UNRESPONSIVE
    if h.state is S.GAVE_UP:
        return None
    if waited < (fault_seconds if h.state in (S.FAULTED, S.UNRESPONSIVE) else recovery_seconds):
        return None
    if h.state is not S.RECOVERING_HARD and resets_left <= 0:
        return E.LIMIT_REACHED
    return E.ESCALATE


class HealthMonitor:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.monitoring
        self.health: dict[str, StationHealth] = {}
        self.started_at = ctx.clock()
        self._security_after: int | None = None
        self._last_check: datetime | None = None

    # -- observations (called from OCPP handlers: in memory only, no I/O) ------------------

    def _get(self, station_id: str) -> StationHealth:
        h = self.health.get(station_id)
        if h is None:
            h = self.health[station_id] = StationHealth(since=self.ctx.clock())
        return h

    def observe_status(self, station_id: str, connector: int, status: str) -> None:
        if status == "Faulted":
            self._get(station_id).faulted.add(connector)
        elif station_id in self.health:
            self.health[station_id].faulted.discard(connector)

    def observe_alive(self, station_id: str) -> None:
        """A boot or an answered probe: the station responds."""
        if station_id in self.health:
            self.health[station_id].unresponsive = False

    # -- the periodic check ------------------------------------------------------------------

    async def check(self) -> None:
        now = self.ctx.clock()
        await self._probe(now)
        for station_id in list(self.health):
            await self._step(station_id, now)
        await self._event_alarms(now)
        await stop_idle_sessions(self.ctx)
        self._last_check = now

    async def _probe(self, now: datetime) -> None:
        s = self.settings
        ocpp = self.ctx.settings.ocpp
        after = s.probe_after_seconds if s.probe_after_seconds is not None \
            else ocpp.heartbeat_interval + ocpp.offline_grace_seconds
        async with self.ctx.sessionmaker() as session:
            silent = set((await session.scalars(select(StationRow.id).where(
                StationRow.connected.is_(True),
                StationRow.last_seen_at < now - timedelta(seconds=after)))).all())
        silent |= {sid for sid, h in self.health.items() if h.unresponsive}
        targets = [sid for sid in silent if connection(self.ctx, sid) is not None]
        await asyncio.gather(*(self._probe_one(sid) for sid in targets))

    async def _probe_one(self, station_id: str) -> None:
        conn = connection(self.ctx, station_id)
        if conn is None:
            return
        payload: Any = call201.TriggerMessage(requested_message="Heartbeat") if is_201(conn) \
            else call.TriggerMessage(requested_message="Heartbeat")
        try:
            await asyncio.wait_for(conn.call(payload), self.settings.probe_timeout_seconds)
        except OCPPError:
            pass  # a CALLERROR is an answer: the station responds
        except Exception as exc:  # timeout, closed connection
            log.warning("monitor.probe.unanswered", station=station_id,
                        error=type(exc).__name__)
            self._get(station_id).unresponsive = True
            return
        self.observe_alive(station_id)
        async with transaction(self.ctx.sessionmaker) as session:
            await network.mark_seen(session, station_id, self.ctx.clock())

    async def _step(self, station_id: str, now: datetime) -> None:
        h = self.health[station_id]
        window = now - timedelta(seconds=self.settings.reset_window_seconds)
        h.resets = [t for t in h.resets if t > window]
        event = decide(h, connected=connection(self.ctx, station_id) is not None, now=now,
                       fault_seconds=self.settings.fault_seconds,
                       recovery_seconds=self.settings.recovery_seconds,
                       resets_left=self.settings.max_resets - len(h.resets))
        if event is not None:
            await self._apply(station_id, h, event, now)
        if h.state is S.HEALTHY and not h.bad and not h.resets:
            del self.health[station_id]

    async def _apply(self, station_id: str, h: StationHealth, event: Event,
                     now: datetime) -> None:
        new = next_state(h.state, event)
        if new is h.state:
            return
        log.info("monitor.transition", station=station_id, old=h.state.value, new=new.value,
                 cause=event.value)
        old, h.state, h.since = h.state, new, now
        await self._record(station_id, h, old, now)
        action = ON_ENTER.get(new)
        if action in (SOFT, HARD):
            h.resets.append(now)
            if not await self._reset(station_id, hard=action == HARD):
                await self._apply(station_id, h, E.RESET_FAILED, now)

    async def _record(self, station_id: str, h: StationHealth, old: State,
                      now: datetime) -> None:
        """Persist the state and raise/clear the state's alarms (one unit of work)."""
        email = self.ctx.settings.smtp.host is not None
        action = ON_ENTER.get(h.state)
        async with transaction(self.ctx.sessionmaker) as session:
            await session.execute(update(StationRow).where(StationRow.id == station_id)
                                  .values(health_state=h.state.value))
            if action == RAISE_FAULTED:
                await alarms.raise_alarm(
                    session, alarms.FAULTED, station_id, station_id=station_id, now=now,
                    email=email, message="station reports Faulted",
                    details={"connectors": sorted(h.faulted)})
            elif action == RAISE_RESET_FAILED:
                await alarms.raise_alarm(
                    session, alarms.RESET_FAILED, station_id, station_id=station_id, now=now,
                    email=email, message=f"automatic recovery gave up after {old.value}",
                    details={"resets": len(h.resets), "faulted": sorted(h.faulted),
                             "unresponsive": h.unresponsive})
            elif action == CLEAR:
                for kind in (alarms.FAULTED, alarms.RESET_FAILED):
                    await alarms.clear_alarm(session, kind, station_id, now)
        self.ctx.outbox_written()

    async def _reset(self, station_id: str, *, hard: bool) -> bool:
        conn = connection(self.ctx, station_id)
        if conn is None:
            return False
        if is_201(conn):
            payload: Any = call201.Reset(type="Immediate" if hard else "OnIdle")
        else:
            payload = call.Reset(type="Hard" if hard else "Soft")
        try:
            res = await asyncio.wait_for(conn.call(payload), self.settings.probe_timeout_seconds)
            status = str(res.status)
        except Exception as exc:
            status = type(exc).__name__
        log.warning("monitor.reset", station=station_id, hard=hard, status=status)
        return status in ("Accepted", "Scheduled")

    async def _event_alarms(self, now: datetime) -> None:
        email = self.ctx.settings.smtp.host is not None
        async with transaction(self.ctx.sessionmaker) as session:
            self._security_after = await alarms.security_event_alarms(
                session, after_id=self._security_after, received_since=self.started_at,
                ignored=self.settings.security_events_ignored, now=now, email=email)
            await alarms.firmware_alarms(session, since=self._last_check or self.started_at,
                                         now=now, email=email)
        self.ctx.outbox_written()


def monitor_of(ctx: HubContext) -> HealthMonitor | None:
    monitor = ctx.components.get("monitor")
    return monitor if isinstance(monitor, HealthMonitor) else None


def observe_status(ctx: HubContext, station_id: str, connector: int, status: str) -> None:
    if (monitor := monitor_of(ctx)) is not None:
        monitor.observe_status(station_id, connector, status)


def observe_alive(ctx: HubContext, station_id: str) -> None:
    if (monitor := monitor_of(ctx)) is not None:
        monitor.observe_alive(station_id)


def install(ctx: HubContext, scheduler: AsyncIOScheduler | None) -> HealthMonitor:
    """Register the monitor on the context and schedule its check (composition root)."""
    monitor = HealthMonitor(ctx)
    ctx.components["monitor"] = monitor
    if scheduler is not None and ctx.settings.monitoring.enabled:
        scheduler.add_job(monitor.check, "interval", id="ocpp_health_check",
                          seconds=ctx.settings.monitoring.check_interval_seconds,
                          coalesce=True, max_instances=1)
    return monitor
