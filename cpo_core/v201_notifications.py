"""OCPP 2.0.1 station -> CSMS notifications that we store in memory, log and acknowledge.

Every CSMS-bound 2.0.1 action is answered: the ones here with their (mostly empty) response,
FirmwareStatusNotification / LogStatusNotification / ReservationStatusUpdate also update the
stored operations state (as their 1.6 counterparts do). Certificate and security messages are
in ``cpo_core.v201_security``; cpo_core.base answers any action without a handler
(NotSupported if the version knows it, NotImplemented otherwise; OCPP-J 2.0.1 section 4.3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from cpo_core.handlers.operations import (
    record_diagnostics_status,
    record_firmware_status,
    station_ops,
)
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcppReservationRow

log = structlog.get_logger("cpo_core.v201")

MAX_REPORT_ITEMS = 10_000  # per request id, in memory
# 2.0.1 FirmwareStatusEnumType -> the 1.6 vocabulary campaign targets move through
# (cpo_core.handlers.operations.FIRMWARE_OPEN); failures and the rest stay as they are.
FIRMWARE_CAMPAIGN = {"DownloadScheduled": "Downloading", "DownloadPaused": "Downloading",
                     "SignatureVerified": "Downloaded", "InstallScheduled": "Installing",
                     "InstallRebooting": "Installing"}


def _short(value: Any, limit: int = 100) -> str | None:
    return None if value is None else str(value)[:limit]


class Notifications201:
    """Mixin of ``cpo_core.v201.StationConnection201``."""

    id: str
    firmware_status: str | None
    log_status: str | None
    ctx: HubContext
    reports: dict[int, list[dict[str, Any]]]
    report_waiters: dict[int, asyncio.Future[list[dict[str, Any]]]]
    _ts: Callable[[str, str], datetime]

    def expect_report(self, request_id: int) -> asyncio.Future[list[dict[str, Any]]]:
        """A future resolved with the report data once the last NotifyReport (``tbc`` false)
        of ``request_id`` has arrived; the caller pops ``report_waiters[request_id]``."""
        waiter = asyncio.get_running_loop().create_future()
        self.report_waiters[request_id] = waiter
        return waiter

    # -- N07 NotifyEvent, B07 NotifyReport ------------------------------------------------------

    @on(Action.notify_event)
    async def on_notify_event(self, generated_at: str, seq_no: int,
                              event_data: list[dict[str, Any]], **_: Any
                              ) -> call_result.NotifyEvent:
        self._ts(generated_at, "generatedAt")
        for event in event_data:
            log.info("ocpp.event", station=self.id, event_id=event.get("event_id"),
                     trigger=event.get("trigger"),
                     component=(event.get("component") or {}).get("name"),
                     variable=(event.get("variable") or {}).get("name"),
                     value=_short(event.get("actual_value")), seq_no=seq_no)
        return call_result.NotifyEvent()

    @on(Action.notify_report)
    async def on_notify_report(self, request_id: int, generated_at: str, seq_no: int,
                               **kw: Any) -> call_result.NotifyReport:
        self._ts(generated_at, "generatedAt")
        items = self.reports.setdefault(request_id, [])
        if len(items) < MAX_REPORT_ITEMS:
            items.extend(kw.get("report_data") or [])
        waiter = self.report_waiters.get(request_id)
        if not kw.get("tbc") and waiter is not None and not waiter.done():
            waiter.set_result(self.reports.pop(request_id))
        log.info("ocpp.report", station=self.id, request_id=request_id, seq_no=seq_no,
                 more=bool(kw.get("tbc")))
        return call_result.NotifyReport()

    # -- L01 firmware, N01 logs (SecurityEventNotification: cpo_core.v201_security) -----------

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, status: str, **kw: Any
                                 ) -> call_result.FirmwareStatusNotification:
        """Kept as the station's firmware status; a campaign target moves with it (2.0.1
        statuses without a 1.6 equivalent are mapped for the campaign, FIRMWARE_CAMPAIGN)."""
        self.firmware_status = status
        now = self.ctx.clock()
        async with transaction(self.ctx.sessionmaker) as session:
            await record_firmware_status(session, self.id,
                                         FIRMWARE_CAMPAIGN.get(status, status), now)
            ops = await station_ops(session, self.id)
            ops.firmware_status = status[:32]
        log.info("ocpp.firmware_status", station=self.id, status=status,
                 request_id=kw.get("request_id"))
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    async def on_log_status(self, status: str, **kw: Any) -> call_result.LogStatusNotification:
        self.log_status = status
        async with transaction(self.ctx.sessionmaker) as session:
            await record_diagnostics_status(session, self.id, status[:32], self.ctx.clock())
        log.info("ocpp.log_status", station=self.id, status=status,
                 request_id=kw.get("request_id"))
        return call_result.LogStatusNotification()

    # -- acknowledged only (smart charging, display, monitoring, reservations, ...) -------------

    @on(Action.cleared_charging_limit)
    async def on_cleared_charging_limit(self, **_: Any) -> call_result.ClearedChargingLimit:
        return call_result.ClearedChargingLimit()

    @on(Action.notify_charging_limit)
    async def on_notify_charging_limit(self, **_: Any) -> call_result.NotifyChargingLimit:
        return call_result.NotifyChargingLimit()

    @on(Action.notify_customer_information)
    async def on_notify_customer_information(self, **_: Any
                                             ) -> call_result.NotifyCustomerInformation:
        return call_result.NotifyCustomerInformation()

    @on(Action.notify_display_messages)
    async def on_notify_display_messages(self, **_: Any) -> call_result.NotifyDisplayMessages:
        return call_result.NotifyDisplayMessages()

    @on(Action.notify_monitoring_report)
    async def on_notify_monitoring_report(self, **_: Any
                                          ) -> call_result.NotifyMonitoringReport:
        return call_result.NotifyMonitoringReport()

    @on(Action.publish_firmware_status_notification)
    async def on_publish_firmware_status(self, **_: Any
                                         ) -> call_result.PublishFirmwareStatusNotification:
        return call_result.PublishFirmwareStatusNotification()

    @on(Action.report_charging_profiles)
    async def on_report_charging_profiles(self, **_: Any
                                          ) -> call_result.ReportChargingProfiles:
        return call_result.ReportChargingProfiles()

    @on(Action.reservation_status_update)
    async def on_reservation_status_update(self, reservation_id: int,
                                           reservation_update_status: str, **_: Any
                                           ) -> call_result.ReservationStatusUpdate:
        async with transaction(self.ctx.sessionmaker) as session:
            row = await session.get(OcppReservationRow, reservation_id)
            if row is not None and row.station_id == self.id:  # Expired | Removed
                row.status, row.updated_at = reservation_update_status[:16], self.ctx.clock()
        log.info("ocpp.reservation_status", station=self.id, reservation_id=reservation_id,
                 status=reservation_update_status)
        return call_result.ReservationStatusUpdate()

    @on(Action.notify_ev_charging_schedule)
    async def on_notify_ev_charging_schedule(self, **_: Any
                                             ) -> call_result.NotifyEVChargingSchedule:
        return call_result.NotifyEVChargingSchedule(status="Accepted")

    @on(Action.notify_ev_charging_needs)
    async def on_notify_ev_charging_needs(self, **_: Any) -> call_result.NotifyEVChargingNeeds:
        # K17: "Rejected" = the CSMS will not provide a schedule (no smart charging yet).
        return call_result.NotifyEVChargingNeeds(status="Rejected")
