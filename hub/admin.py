"""Admin API for the network operator (JSON). The console will sit on the same services.

Access: ``Authorization: Bearer <HUB_ADMIN_TOKEN>``; when no admin token is configured, only
clients on the loopback interface are served (a fresh ``make run`` works locally, nothing is
open to the network by accident).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import outbox
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import CdrRow, ChargingSessionRow, OutboxRow
from hub.services.network import list_stations
from hub.services.partners import list_partners, public_partner
from hub.services.records import cdr_from_row


def hub_context(request: Request) -> HubContext:
    ctx: HubContext = request.app.state.hub
    return ctx


def require_admin(request: Request, ctx: Annotated[HubContext, Depends(hub_context)]) -> None:
    token = ctx.settings.admin_token
    if token is None:
        host = request.client.host if request.client else ""
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
        raise HTTPException(403, "admin API is served on loopback only without HUB_ADMIN_TOKEN")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
        raise HTTPException(401, "admin token required")


router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin"])
Ctx = Annotated[HubContext, Depends(hub_context)]


@router.get("/health")
async def health(ctx: Ctx) -> dict[str, Any]:
    async with transaction(ctx.sessionmaker) as session:
        pending = len((await session.scalars(
            select(OutboxRow.id).where(OutboxRow.status == outbox.PENDING))).all())
        dead = len((await session.scalars(
            select(OutboxRow.id).where(OutboxRow.status == outbox.DEAD))).all())
    return {"status": "ok", "outbox": {"pending": pending, "dead": dead}}


@router.get("/stations")
async def stations(ctx: Ctx) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        return [
            {"id": s.id, "vendor": s.vendor, "model": s.model, "connected": s.connected,
             "last_seen_at": s.last_seen_at, "firmware_version": s.firmware_version}
            for s in await list_stations(session)
        ]


@router.get("/partners")
async def partners(ctx: Ctx) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        return [public_partner(p) for p in await list_partners(session)]


@router.get("/outbox")
async def outbox_list(ctx: Ctx, status: str | None = None, limit: int = 100
                      ) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        stmt = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(min(limit, 1000))
        if status:
            stmt = stmt.where(OutboxRow.status == status.upper())
        return [
            {"id": r.id, "kind": r.kind, "subject": r.subject, "partner_id": r.partner_id,
             "status": r.status, "attempts": r.attempts, "next_attempt_at": r.next_attempt_at,
             "last_error": r.last_error, "delivered_at": r.delivered_at}
            for r in (await session.scalars(stmt)).all()
        ]


@router.post("/outbox/{outbox_id}/retry")
async def outbox_retry(outbox_id: int, ctx: Ctx) -> dict[str, Any]:
    async with transaction(ctx.sessionmaker) as session:
        row = await outbox.retry_dead(session, outbox_id, ctx.clock())
        if row is None:
            raise HTTPException(404, "no dead-lettered message with that id")
    ctx.outbox_written()
    return {"id": outbox_id, "status": outbox.PENDING}


async def _cdr_json(session: AsyncSession, row: CdrRow) -> dict[str, Any]:
    cdr = await cdr_from_row(session, row)
    return {
        "id": cdr.id, "source": row.source, "cpo": str(cdr.cpo),
        "emsp": str(cdr.token_owner) if cdr.token_owner else None,
        "session_id": cdr.session_id, "start_date_time": cdr.start_date_time,
        "end_date_time": cdr.end_date_time, "token_uid": "****" + cdr.token_uid[-4:],
        "currency": cdr.currency, "total_energy": str(cdr.total_energy),
        "total_time": str(cdr.total_time),
        "total_cost_excl_vat": str(cdr.total_cost_excl_vat),
        "total_cost_incl_vat": None if cdr.total_cost_incl_vat is None
        else str(cdr.total_cost_incl_vat),
        "vat_rate": None if cdr.vat_rate is None else str(cdr.vat_rate),
        "vat_country": cdr.vat_country, "location": cdr.location,
        "breakdown": list(cdr.breakdown),
    }


@router.get("/cdrs")
async def cdrs(ctx: Ctx, source: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        stmt = select(CdrRow).order_by(CdrRow.id.desc()).limit(min(limit, 1000))
        if source:
            stmt = stmt.where(CdrRow.source == source)
        return [await _cdr_json(session, r) for r in (await session.scalars(stmt)).all()]


@router.get("/sessions")
async def sessions(ctx: Ctx, limit: int = 100) -> list[dict[str, Any]]:
    async with transaction(ctx.sessionmaker) as session:
        rows = (await session.scalars(select(ChargingSessionRow)
                                      .order_by(ChargingSessionRow.id.desc())
                                      .limit(min(limit, 1000)))).all()
        return [
            {"id": r.session_id, "transaction_id": r.id, "station_id": r.station_id,
             "status": r.status, "kwh": str(r.kwh), "start_date_time": r.start_date_time,
             "end_date_time": r.end_date_time, "flags": r.flags}
            for r in rows
        ]
