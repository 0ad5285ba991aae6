"""The ``hub.ports.StationControl`` port over the admin command adapters (issue 5, commands).

A thin adapter over ``cpo_core.commands201.commands_for``: the station's answer and our domain
errors become a protocol-neutral outcome (``hub.ports.STATION_OUTCOMES``) that the OCPI
commands module reports to the eMSP as a CommandResult.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import structlog

from cpo_core.commands import StationCallError, StationNotConnected, StationTimeout
from cpo_core.commands201 import commands_for
from hub.context import HubContext
from hub.domain import DomainError, NotFound

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
