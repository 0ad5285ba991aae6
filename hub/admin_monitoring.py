"""Admin API of monitoring and access (mounted under ``/admin`` by hub.app): alarms, station
health and the stations' access and vend modes. Same access rule as hub.admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.admin import hub_context, require_admin
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import StationRow
from hub.domain import InvalidInput, NotFound
from hub.services import access, alarms

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin", "monitoring"])
Ctx = Annotated[HubContext, Depends(hub_context)]


@router.get("/alarms")
async def list_alarms(ctx: Ctx, status: str | None = None, kind: str | None = None,
                      station_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        rows = await alarms.list_alarms(session, status=status, kind=kind,
                                        station_id=station_id, limit=limit)
        return [alarms.alarm_json(r) for r in rows]


@router.post("/alarms/{alarm_id}/ack")
async def acknowledge_alarm(alarm_id: int, ctx: Ctx) -> dict[str, Any]:
    try:
        async with transaction(ctx.sessionmaker) as session:
            row = await alarms.acknowledge(session, alarm_id, ctx.clock())
            return alarms.alarm_json(row)
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc


@router.get("/stations-health")
async def stations_health(ctx: Ctx) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        rows = (await session.execute(select(
            StationRow.id, StationRow.health_state, StationRow.connected,
            StationRow.last_seen_at).order_by(StationRow.id))).all()
    return [{"id": r[0], "health_state": r[1], "connected": r[2], "last_seen_at": r[3]}
            for r in rows]


class AccessIn(BaseModel):
    mode: str = access.PUBLIC
    allowed_groups: list[str] = Field(default_factory=list)
    access_code: str | None = Field(default=None, max_length=36)
    free_vend_id_tag: str | None = None
    idle_stop_minutes: int | None = None


@router.get("/stations/{station_id}/access")
async def get_access(station_id: str, ctx: Ctx) -> dict[str, object]:
    async with transaction(ctx.sessionmaker) as session:
        row = await session.get(StationRow, station_id)
        if row is None:
            raise HTTPException(404, f"unknown station {station_id}")
        return access.access_json(row)


@router.put("/stations/{station_id}/access")
async def put_access(station_id: str, body: AccessIn, ctx: Ctx) -> dict[str, object]:
    try:
        async with transaction(ctx.sessionmaker) as session:
            row = await access.set_station_access(session, station_id, **body.model_dump())
            return access.access_json(row)
    except NotFound as exc:
        raise HTTPException(404, exc.message) from exc
    except InvalidInput as exc:
        raise HTTPException(422, exc.message) from exc
