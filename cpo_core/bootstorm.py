"""BootNotification storms (many stations rebooting or reconnecting at once, e.g. after a
power cut or a hub restart): more accepted boots than ``boot_storm_threshold`` within
``boot_storm_window_seconds`` while the central system is busy (at least
``boot_storm_busy_calls`` CALLs being handled at that moment) -> the next ones are answered
``Pending`` (OCPP 1.6 section 4.2: the station retries after ``interval`` seconds). The interval
doubles with each Pending the same station gets (base .. max), so retries spread out; the
station is Accepted once the window has room again or the backlog has gone. Only accepted
boots count, so the rate of accepted boots is bounded whenever the hub is loaded, and a storm
the hub keeps up with is not slowed down (a fixed rate alone made a 10,000-station reconnect
take at least 100 s on an idle hub).
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

import structlog

from cpo_core.base import calls_in_flight
from hub.context import HubContext
from hub.settings import MonitoringSettings

log = structlog.get_logger("cpo_core.bootstorm")


class BootGate:
    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings
        self._accepted: deque[datetime] = deque()
        self._pending: dict[str, int] = {}

    def admit(self, station_id: str, now: datetime) -> int | None:
        """None: accept this boot; else the Pending retry interval in seconds."""
        s = self.settings
        horizon = now - timedelta(seconds=s.boot_storm_window_seconds)
        while self._accepted and self._accepted[0] <= horizon:
            self._accepted.popleft()
        if len(self._accepted) >= s.boot_storm_threshold and \
                calls_in_flight() >= s.boot_storm_busy_calls:
            tries = self._pending.get(station_id, 0)
            self._pending[station_id] = tries + 1
            interval = min(s.boot_pending_base_seconds * 2 ** min(tries, 16),
                           s.boot_pending_max_seconds)
            log.info("ocpp.boot.pending", station=station_id, interval=interval,
                     accepted_in_window=len(self._accepted))
            return int(interval)
        self._pending.pop(station_id, None)
        self._accepted.append(now)
        return None


def boot_gate(ctx: HubContext) -> BootGate:
    """The running hub's gate (one per context, created on first use)."""
    gate = ctx.components.get("boot_gate")
    if not isinstance(gate, BootGate):
        gate = BootGate(ctx.settings.monitoring)
        ctx.components["boot_gate"] = gate
    return gate
