"""The ``hub.ports.StationControl`` port over the admin command adapters (issue 5, commands).

A thin adapter over ``cpo_core.commands201.commands_for``: the station's answer and our domain
errors become a protocol-neutral outcome (``hub.ports.STATION_OUTCOMES``) that the OCPI
commands module reports to the eMSP as a CommandResult.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import structlog

from cpo_core.commands import StationCallError, StationNotConnected, StationTimeout
from cpo_core.commands201 import StationCommands201, commands_for
from cpo_core.profile_mapper import limits_from_composite, tx_profile_16, tx_profile_201
from hub.context import HubContext
from hub.db.models import ChargingSessionRow
from hub.domain import DomainError, NotFound
from hub.ports import ChargingLimits

log = structlog.get_logger("cpo_core.station_control")


async def _outcome(station_id: str, action: str, work: Awaitable[dict[str, Any]]) -> str:
    try:
        answer = await work
    except (StationNotConnected, NotFound):
        return "offline"
    except StationTimeout:
        return "timeout"
    except (StationCallError, DomainError) as exc:
        log.warning("station_control.failed", station=station_id, action=action,
                    error=type(exc).__name__)
        return "failed"
    status = str(answer.get("status", ""))
    if status == "Accepted" or status == "Unlocked":
        return "accepted"
    if status == "Occupied":
        return "occupied"
    if status == "Unknown":  # ClearChargingProfile: no matching profile
        return "unknown"
    if status in ("Unavailable", "Faulted"):
        return "offline"
    return "rejected"


class CpoStationControl:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    async def remote_start(self, station_id: str, connector_id: int, id_tag: str) -> str:
        return await _outcome(station_id, "remote_start", commands_for(
            self.ctx, station_id).remote_start(station_id, id_tag, connector_id))

    async def remote_stop(self, station_id: str, session_pk: int) -> str:
        return await _outcome(station_id, "remote_stop", commands_for(
            self.ctx, station_id).remote_stop(station_id, session_pk))

    async def unlock(self, station_id: str, connector_id: int) -> str:
        return await _outcome(station_id, "unlock", commands_for(
            self.ctx, station_id).unlock(station_id, connector_id))

    # -- issue 5: reservations (OCPP 1.6 5.13/5.3, 2.0.1 H01/H02) -----------------------------

    async def reserve(self, station_id: str, connector_id: int, id_tag: str,
                      expiry_date: datetime) -> tuple[str, int | None]:
        """ReserveNow with a new ``OcppReservationRow`` id (unique per CPO, never the eMSP's
        reservation_id: mod_commands ReserveNow)."""
        answer: dict[str, Any] = {}

        async def work() -> dict[str, Any]:
            answer.update(await commands_for(self.ctx, station_id).reserve(
                station_id, connector_id, id_tag, expiry_date, source="ocpi"))
            return answer

        outcome = await _outcome(station_id, "reserve", work())
        pk = answer.get("reservationId")
        return outcome, int(pk) if pk is not None else None

    async def cancel_reservation(self, station_id: str, reservation_pk: int) -> str:
        outcome = await _outcome(station_id, "cancel_reservation", commands_for(
            self.ctx, station_id).cancel_reservation(station_id, reservation_pk))
        # CancelReservation Rejected: "no reservation for this id" (1.6 7.8, 2.0.1 H02)
        return "unknown" if outcome == "rejected" else outcome

    # -- issue 5: smart charging for one transaction (1.6 5.16/5.5/5.7, 2.0.1 K01/K10/K08) ---

    async def set_limits(self, station_id: str, connector_id: int, session_pk: int,
                         profile_id: int, limits: ChargingLimits) -> str:
        commands = commands_for(self.ctx, station_id)
        if isinstance(commands, StationCommands201):
            async with self.ctx.sessionmaker() as session:
                row = await session.get(ChargingSessionRow, session_pk)
            ref = row.ocpp_transaction_ref if row is not None else None
            profile = tx_profile_201(profile_id, ref or str(session_pk), limits)
        else:
            profile = tx_profile_16(profile_id, session_pk, limits)
        return await _outcome(station_id, "set_charging_profile",
                              commands.set_charging_profile(station_id, connector_id, profile))

    async def clear_limits(self, station_id: str, profile_id: int) -> str:
        return await _outcome(station_id, "clear_charging_profile", commands_for(
            self.ctx, station_id).clear_charging_profile(station_id, profile_id=profile_id))

    async def planned_limits(self, station_id: str, connector_id: int, duration: int
                             ) -> tuple[str, ChargingLimits | None]:
        answer: dict[str, Any] = {}

        async def work() -> dict[str, Any]:
            answer.update(await commands_for(self.ctx, station_id).composite_schedule(
                station_id, connector_id, duration))
            return answer

        outcome = await _outcome(station_id, "composite_schedule", work())
        limits = limits_from_composite(answer) if outcome == "accepted" else None
        return outcome, limits
