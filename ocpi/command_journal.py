"""The asynchronous half of commands and charging profile requests, and their journal (issue 5).

mod_commands and mod_charging_profiles work the same way: the Receiver answers at once
(CommandResponse / ChargingProfileResponse with a ``timeout``), asks the station, and POSTs the
result to the Sender's ``response_url``. Every request is journaled in ``OcpiCommandRow``
(request body with token uids masked, response_url, synchronous answer, result, times); the
result goes out through the outbox (kind ``command_result``: payload = response_url + the body
as JSON text, so Decimal limits stay JSON numbers),
written in the same transaction that closes the journal entry, so a result is never lost and
the journal never claims a result that was not queued.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast

import structlog
from fastapi import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models_ocpi_commands import OcpiCommandRow
from hub.outbox import enqueue
from hub.ports import StationControl
from ocpi.encoding import dumps, jsonable
from ocpi.response import ocpi_response

log = structlog.get_logger("ocpi.command_journal")

KIND = "command_result"
PENDING, DONE, ANSWERED = "PENDING", "DONE", "ANSWERED"
_SECRET_KEYS = frozenset({"uid", "contract_id", "visual_number"})

Work = Callable[[StationControl], Awaitable[dict[str, Any]]]
After = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


def masked(value: Any) -> Any:
    """The request as journaled: token uids, contract ids, visual numbers keep 4 characters."""
    if isinstance(value, dict):
        return {k: ("****" + str(v)[-4:] if k in _SECRET_KEYS and v is not None
                    else masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


async def record(ctx: HubContext, partner_id: int, module: str, command: str,
                 body: dict[str, Any], response_url: str, response: str) -> int:
    """A journal entry for one request; PENDING when a result will follow (ACCEPTED)."""
    now = ctx.clock()
    async with transaction(ctx.sessionmaker) as session:
        row = OcpiCommandRow(
            partner_id=partner_id, module=module, command=command, request=jsonable(masked(body)),
            response_url=response_url, response=response,
            status=PENDING if response == "ACCEPTED" else ANSWERED,
            created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        return row.id


def queue_result(session: AsyncSession, partner_id: int | None, response_url: str,
                 result: dict[str, Any], now: datetime) -> None:
    """A result for ``response_url`` in the outbox (the caller's unit of work)."""
    enqueue(session, KIND, str(uuid.uuid4()), partner_id=partner_id,
            payload={"response_url": response_url, "result_json": dumps(result).decode()},
            now=now)


async def _complete(ctx: HubContext, entry_id: int, partner_id: int, response_url: str,
                    result: dict[str, Any], after: After | None) -> None:
    now: datetime = ctx.clock()
    async with transaction(ctx.sessionmaker) as session:
        queue_result(session, partner_id, response_url, result, now)
        row = await session.get(OcpiCommandRow, entry_id)
        if row is not None:
            row.status, row.result = DONE, str(result.get("result"))
            row.updated_at = row.completed_at = now
        if after is not None:
            await after(session, result)
    ctx.outbox_written()


def spawn(ctx: HubContext, entry_id: int, partner_id: int, response_url: str, work: Work,
          failed: dict[str, Any], after: After | None = None) -> None:
    """Runs ``work`` against the station in the background; its result (``failed`` when the
    CPO core is absent or the work breaks) is queued for ``response_url``."""

    async def run() -> None:
        control = cast("StationControl | None", ctx.components.get("station_control"))
        result = failed
        if control is not None:
            try:
                result = await work(control)
            except Exception:  # a detached task: the eMSP still gets a result
                log.exception("ocpi.command.work_failed", entry=entry_id)
        await _complete(ctx, entry_id, partner_id, response_url, result, after)
        log.info("ocpi.command.result", entry=entry_id, partner_id=partner_id,
                 result=result.get("result"))

    tasks: set[asyncio.Task[None]] = ctx.components.setdefault("ocpi_command_tasks", set())
    task = asyncio.create_task(run(), name="ocpi-command")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def timed_response(result: str, timeout_s: int, message: str | None = None) -> Response:
    """CommandResponse / ChargingProfileResponse: the result, the timeout, a DisplayText."""
    data: dict[str, Any] = {"result": result, "timeout": timeout_s}
    if message:
        data["message"] = [{"language": "en", "text": message}]
    return ocpi_response(data)


def entry_json(row: OcpiCommandRow) -> dict[str, Any]:
    """One journal entry for the admin API."""
    return {
        "id": row.id, "partner_id": row.partner_id, "module": row.module,
        "command": row.command, "request": row.request, "response_url": row.response_url,
        "response": row.response, "status": row.status, "result": row.result,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


async def entries(ctx: HubContext, partner_id: int | None = None, entry_id: int | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Journal entries, newest first (the admin API: ``/admin/ocpi/commands``)."""
    query = select(OcpiCommandRow).order_by(OcpiCommandRow.id.desc()).limit(limit)
    if partner_id is not None:
        query = query.where(OcpiCommandRow.partner_id == partner_id)
    if entry_id is not None:
        query = query.where(OcpiCommandRow.id == entry_id)
    async with ctx.sessionmaker() as session:
        return [entry_json(r) for r in (await session.scalars(query)).all()]
