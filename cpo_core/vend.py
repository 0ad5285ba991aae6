"""Vend modes on the OCPP side (policy in hub.services.access).

- Free vend / autostart: a StatusNotification ``Preparing`` (a car plugged in) on a station
  with a ``free_vend_id_tag`` -> RemoteStartTransaction on that connector with that idTag,
  sent after the StatusNotification reply. The station's StartTransaction is authorized by the
  tag (tokens.authorize with the station) and the session is flagged ``free_vend``; it is
  billed to the tag, i.e. to the outlet owner. Stations that autostart by themselves (a vendor
  free-vend setting with the same idTag) need no remote start and are accepted the same way.
- Idle standby stop: an active session whose energy register has not grown for the station's
  ``idle_stop_minutes`` gets a RemoteStopTransaction (RequestStopTransaction in 2.0.1) and the
  flag ``idle_stop_requested`` (sent once).
"""

from __future__ import annotations

from typing import Any

import structlog
from ocpp.v16 import call
from ocpp.v201 import call as call201
from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, StationRow
from hub.services.access import IDLE_STOP_FLAG, flag_session, idle_sessions

log = structlog.get_logger("cpo_core.vend")


def connection(ctx: HubContext, station_id: str) -> Any | None:
    """The live connection of a station (OcppServer registry), or None."""
    server = ctx.components.get("ocpp")
    stations = getattr(server, "stations", None) or {}
    return stations.get(station_id)


def is_201(conn: Any) -> bool:
    return str(getattr(conn, "_ocpp_version", "1.6")).startswith("2")


async def free_vend_start(ctx: HubContext, station_id: str, connector: int) -> str | None:
    """Remote start with the station's free-vend tag on a plugged-in connector; returns the
    station's answer, or None when the station is not free-vend or already charging there."""
    async with ctx.sessionmaker() as session:
        station = await session.get(StationRow, station_id)
        if station is None or not station.free_vend_id_tag:
            return None
        busy = (await session.scalars(select(ChargingSessionRow.id).where(
            ChargingSessionRow.station_id == station_id,
            ChargingSessionRow.ocpp_connector_id == connector,
            ChargingSessionRow.status == "ACTIVE").limit(1))).first()
        tag = station.free_vend_id_tag
    conn = connection(ctx, station_id)
    if busy is not None or conn is None or is_201(conn):
        return None
    res = await conn.call(call.RemoteStartTransaction(id_tag=tag, connector_id=connector))
    log.info("ocpp.free_vend.remote_start", station=station_id, connector=connector,
             status=str(res.status))
    return str(res.status)


async def stop_idle_sessions(ctx: HubContext) -> list[int]:
    """Remote-stop sessions idle in standby; returns the transaction ids asked to stop."""
    async with ctx.sessionmaker() as session:
        idle = [(r.id, r.station_id, r.ocpp_transaction_ref)
                for r in await idle_sessions(session)]
    asked = []
    for pk, station_id, ref in idle:
        conn = connection(ctx, station_id) if station_id else None
        if conn is None:
            continue
        try:
            if is_201(conn):
                res = await conn.call(call201.RequestStopTransaction(transaction_id=ref or ""))
            else:
                res = await conn.call(call.RemoteStopTransaction(transaction_id=pk))
            status = str(res.status)
        except Exception as exc:  # the flag is set anyway: no stop request storm
            status = type(exc).__name__
        async with transaction(ctx.sessionmaker) as session:
            row = await session.get(ChargingSessionRow, pk)
            if row is not None:
                flag_session(row, IDLE_STOP_FLAG, ctx.clock())
        log.info("ocpp.idle_stop", station=station_id, transaction_id=pk, status=status)
        asked.append(pk)
    return asked
