"""OCPP 2.1 (subprotocol ``ocpp2.1``) on the shared endpoint: the 2.0.1 connection with the
2.1 schemas and message modules of ocpp 2.1.0 (``ocpp.v21``).

OCPP 2.1 keeps the 2.0.1 messages (new optional fields, a few new enum values), so every
2.0.1 handler (cpo_core.v201*) serves 2.1 as it is: the library validates the station's CALLs
and our replies against the 2.1 schemas. Our commands are built with the 2.0.1 message classes
and validated against the 2.1 schemas before they are sent.

Station -> CSMS messages new in 2.1 (OCPP 2.1 Part 2) and what we answer:

- NotifyDERAlarm, NotifyDERStartStop, ReportDERControl, NotifyPriorityCharging,
  NotifySettlement, NotifyWebPaymentStarted, BatterySwap, ClosePeriodicEventStream: logged,
  acknowledged (empty response).
- OpenPeriodicEventStream: Rejected (we do not consume periodic event streams).
- PullDynamicScheduleUpdate: Rejected (no dynamic charging schedules yet).
- VatNumberValidation: Rejected with the number echoed (we validate no VAT numbers).
- GetCertificateChainStatus, and every other action without a handler: CallError
  ``NotSupported`` (cpo_core.base; the library alone would not answer at all).

MessageTypeIds 5 (CALLRESULTERROR) and 6 (SEND) of OCPP-J 2.1 are never answered: they are
logged and dropped (a SEND must not get a reply; we send no CALLRESULT that could be refused).
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from ocpp.routing import on
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v21.enums import Action as Action21

from cpo_core.v201 import StationConnection201

log = structlog.get_logger("cpo_core.v21")

_SEND_OR_RESULT_ERROR = re.compile(r"^\s*\[\s*[56]\s*,")


class Handlers21:
    """Station -> CSMS messages that OCPP 2.1 added."""

    id: str

    def _ack(self, action: str, **fields: Any) -> None:
        log.info("ocpp.v21.acknowledged", station=self.id, action=action, **fields)

    @on(Action21.notify_der_alarm)
    async def on_notify_der_alarm(self, **kw: Any) -> result21.NotifyDERAlarm:
        self._ack("NotifyDERAlarm", control_type=kw.get("control_type"))
        return result21.NotifyDERAlarm()

    @on(Action21.notify_der_start_stop)
    async def on_notify_der_start_stop(self, **_: Any) -> result21.NotifyDERStartStop:
        self._ack("NotifyDERStartStop")
        return result21.NotifyDERStartStop()

    @on(Action21.report_der_control)
    async def on_report_der_control(self, **_: Any) -> result21.ReportDERControl:
        self._ack("ReportDERControl")
        return result21.ReportDERControl()

    @on(Action21.notify_priority_charging)
    async def on_notify_priority_charging(self, **_: Any) -> result21.NotifyPriorityCharging:
        self._ack("NotifyPriorityCharging")
        return result21.NotifyPriorityCharging()

    @on(Action21.notify_settlement)
    async def on_notify_settlement(self, **kw: Any) -> result21.NotifySettlement:
        self._ack("NotifySettlement", status=kw.get("status"))
        return result21.NotifySettlement()

    @on(Action21.notify_web_payment_started)
    async def on_notify_web_payment_started(self, **_: Any
                                            ) -> result21.NotifyWebPaymentStarted:
        self._ack("NotifyWebPaymentStarted")
        return result21.NotifyWebPaymentStarted()

    @on(Action21.battery_swap)
    async def on_battery_swap(self, **kw: Any) -> result21.BatterySwap:
        self._ack("BatterySwap", event_type=kw.get("event_type"))
        return result21.BatterySwap()

    @on(Action21.close_periodic_event_stream)
    async def on_close_periodic_event_stream(self, **_: Any
                                             ) -> result21.ClosePeriodicEventStream:
        self._ack("ClosePeriodicEventStream")
        return result21.ClosePeriodicEventStream()

    @on(Action21.open_periodic_event_stream)
    async def on_open_periodic_event_stream(self, **_: Any
                                            ) -> result21.OpenPeriodicEventStream:
        return result21.OpenPeriodicEventStream(status="Rejected")

    @on(Action21.pull_dynamic_schedule_update)
    async def on_pull_dynamic_schedule_update(self, **_: Any
                                              ) -> result21.PullDynamicScheduleUpdate:
        return result21.PullDynamicScheduleUpdate(status="Rejected")

    @on(Action21.vat_number_validation)
    async def on_vat_number_validation(self, vat_number: str, **kw: Any
                                       ) -> result21.VatNumberValidation:
        return result21.VatNumberValidation(status="Rejected", vat_number=vat_number,
                                            evse_id=kw.get("evse_id"))


class StationConnection21(Handlers21, StationConnection201):
    """One connected OCPP 2.1 station (the 2.0.1 connection on the 2.1 schemas)."""

    _call = call21
    _call_result = result21
    _ocpp_version = "2.1"
    known_actions = frozenset(a.value for a in Action21)

    async def route_message(self, raw_msg: str | bytes) -> None:
        text = raw_msg if isinstance(raw_msg, str) else raw_msg.decode(errors="replace")
        if _SEND_OR_RESULT_ERROR.match(text[:16]):
            log.info("ocpp.v21.frame.dropped", station=self.id,
                     message_type=text.lstrip()[1:].lstrip()[:1])
            return
        await super().route_message(raw_msg)
