"""Admin API of the OCPI edge (issue 5), mounted under ``/admin`` with the admin token:

- ``GET /admin/ocpi/journal?correlation_id=&partner_id=&direction=&limit=``: journal entries,
  newest first (every leg of an exchange shares its X-Correlation-ID).
- ``GET /admin/ocpi/deviations``: per partner, how often each deviation was seen.
- ``GET /admin/ocpi/partners/{id}/agreements``, ``PUT .../agreements/{module}``
  ``{"allowed": bool}``: the roaming agreement (no entry = allowed).
- ``GET /admin/ocpi/commands?partner_id=&limit=``, ``GET /admin/ocpi/commands/{id}``: the
  journal of OCPI commands and charging profile requests (answer, result, times).
- ``PUT /admin/ocpi/partners/{id}/status`` ``{"status": "SUSPENDED"}``: set a partner's status
  and announce it with HubClientInfo.
- ``POST /admin/ocpi/partners/{id}/pull-locations``: GET all of a partner CPO's Locations into
  the hub's store now (also done every ``HUB_OCPI__PULL_LOCATIONS_HOURS``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select

from hub.admin import hub_context, require_admin
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import OcpiJournalRow, PartnerRow
from ocpi.agreements import agreements_of, set_agreement
from ocpi.command_journal import entries as command_entries
from ocpi.hubclientinfo import announce_changes
from ocpi.journal import MODULES, runtime_for

router = APIRouter(prefix="/ocpi", dependencies=[Depends(require_admin)], tags=["admin"])
Ctx = Annotated[HubContext, Depends(hub_context)]


class AgreementIn(BaseModel):
    allowed: bool


class StatusIn(BaseModel):
    status: Literal["PLANNED", "CONNECTED", "SUSPENDED", "OFFLINE"]


def _entry(row: OcpiJournalRow) -> dict[str, Any]:
    return {
        "id": row.id, "at": row.created_at.isoformat(), "direction": row.direction,
        "partner_id": row.partner_id, "module": row.module, "method": row.method,
        "path": row.path, "http_status": row.http_status, "status_code": row.status_code,
        "latency_ms": row.latency_ms, "request_id": row.request_id,
        "correlation_id": row.correlation_id,
        "deviations": row.deviations.split(",") if row.deviations else [],
    }


async def _flush(ctx: HubContext) -> None:
    runtime = runtime_for(ctx.http)
    if runtime is not None:
        await runtime.journal.flush()


@router.get("/journal")
async def journal(ctx: Ctx, correlation_id: str | None = None, partner_id: int | None = None,
                  direction: Literal["in", "out"] | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    await _flush(ctx)
    query = select(OcpiJournalRow).order_by(OcpiJournalRow.id.desc()).limit(limit)
    if correlation_id is not None:
        query = query.where(OcpiJournalRow.correlation_id == correlation_id)
    if partner_id is not None:
        query = query.where(OcpiJournalRow.partner_id == partner_id)
    if direction is not None:
        query = query.where(OcpiJournalRow.direction == direction)
    async with transaction(ctx.sessionmaker) as session:
        return [_entry(r) for r in (await session.scalars(query)).all()]


@router.get("/deviations")
async def deviations(ctx: Ctx) -> dict[str, dict[str, int]]:
    await _flush(ctx)
    async with transaction(ctx.sessionmaker) as session:
        rows = (await session.execute(select(OcpiJournalRow.partner_id, OcpiJournalRow.deviations)
                                      .where(OcpiJournalRow.deviations.is_not(None)))).all()
    report: dict[str, dict[str, int]] = {}
    for partner_id, found in rows:
        per = report.setdefault(str(partner_id) if partner_id is not None else "unknown", {})
        for name in (found or "").split(","):
            per[name] = per.get(name, 0) + 1
    return report


async def _partner(ctx: HubContext, partner_id: int) -> None:
    async with transaction(ctx.sessionmaker) as session:
        if await session.get(PartnerRow, partner_id) is None:
            raise HTTPException(404, "no such partner")


@router.get("/partners/{partner_id}/agreements")
async def get_agreements(ctx: Ctx, partner_id: int) -> dict[str, bool]:
    await _partner(ctx, partner_id)
    async with transaction(ctx.sessionmaker) as session:
        return await agreements_of(session, partner_id)


@router.put("/partners/{partner_id}/agreements/{module}")
async def put_agreement(ctx: Ctx, partner_id: int, module: str,
                        body: AgreementIn) -> dict[str, bool]:
    if module not in MODULES:
        raise HTTPException(422, f"unknown OCPI module {module}")
    await _partner(ctx, partner_id)
    async with transaction(ctx.sessionmaker) as session:
        await set_agreement(session, partner_id, module, body.allowed)
    async with transaction(ctx.sessionmaker) as session:
        return await agreements_of(session, partner_id)


@router.get("/commands")  # issue 5: the OCPI command / charging profile journal
async def commands(ctx: Ctx, partner_id: int | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return await command_entries(ctx, partner_id=partner_id, limit=limit)


@router.get("/commands/{entry_id}")
async def command(ctx: Ctx, entry_id: int) -> dict[str, Any]:
    found = await command_entries(ctx, entry_id=entry_id, limit=1)
    if not found:
        raise HTTPException(404, "no such command")
    return found[0]


@router.put("/partners/{partner_id}/status")
async def put_status(ctx: Ctx, partner_id: int, body: StatusIn) -> dict[str, Any]:
    async with transaction(ctx.sessionmaker) as session:
        row = await session.get(PartnerRow, partner_id)
        if row is None:
            raise HTTPException(404, "no such partner")
        row.status = body.status
    pushed = await announce_changes(ctx)
    return {"id": partner_id, "status": body.status, "client_info_pushed": pushed}


@router.post("/partners/{partner_id}/pull-locations")
async def pull_partner_locations(ctx: Ctx, partner_id: int) -> dict[str, Any]:
    """GET all of a partner CPO's Locations into the hub's store now (data-quality checked)."""
    from ocpi.pagination import PullFailed, pull_locations

    try:
        stored = await pull_locations(ctx, partner_id)
    except PullFailed as exc:  # 502: the partner failed; 409: it cannot be pulled from
        raise HTTPException(502 if exc.upstream else 409, str(exc)) from exc
    return {"partner_id": partner_id, "stored": stored}
