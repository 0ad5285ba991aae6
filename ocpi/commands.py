"""Commands module, Receiver interface of our CPO (OCPI 2.2.1 mod_commands; issue 5, item 4).

``POST /ocpi/cpo/2.2.1/commands/{command}`` answers the CommandResponse at once (mod_commands
"Receiver Interface", "CommandResponse object"); the station is then asked through the
``hub.ports.StationControl`` port (``ctx.components["station_control"]``, the CPO core) and
the CommandResult is POSTed to the eMSP's ``response_url`` through the outbox (kind
``command_result``, payload = response_url + CommandResult).

- START_SESSION: the token is stored (owner must be the caller's eMSP) so the station's
  StartTransaction is authorized and the session is pushed to that eMSP as usual.
- STOP_SESSION: an ACTIVE session of ours, else UNKNOWN_SESSION.
- UNLOCK_CONNECTOR: unknown location/EVSE/connector -> REJECTED.
- RESERVE_NOW, CANCEL_RESERVATION: NOT_SUPPORTED (no OCPI reservation id store yet).
Station outcomes -> CommandResultType: accepted ACCEPTED, rejected REJECTED, occupied
EVSE_OCCUPIED, offline EVSE_INOPERATIVE, timeout TIMEOUT, failed FAILED.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, EvseRow, LocationRow, PartnerRow, PartyRow
from hub.outbox import enqueue
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage, StationControl
from hub.services.tokens import upsert_token
from ocpi import schemas
from ocpi.auth import Ctx, PartnerCaller
from ocpi.client import OcpiUnreachable, ocpi_request
from ocpi.errors import INVALID_PARAMETERS, OcpiError, OcpiRoute
from ocpi.mappers import token_to_domain
from ocpi.parsing import json_body
from ocpi.response import ocpi_response
from ocpi.security import check_response_url
from ocpi.urls import CPO_PREFIX

log = structlog.get_logger("ocpi.commands")

PATH = f"{CPO_PREFIX}/commands"
KIND = "command_result"
TIMEOUT_S = 30  # CommandResponse.timeout: how long the eMSP waits for our CommandResult
RESULTS = {"accepted": "ACCEPTED", "rejected": "REJECTED", "occupied": "EVSE_OCCUPIED",
           "offline": "EVSE_INOPERATIVE", "timeout": "TIMEOUT", "failed": "FAILED"}
COMMANDS = ("START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR", "RESERVE_NOW",
            "CANCEL_RESERVATION")

router = APIRouter(route_class=OcpiRoute)


def _response(result: str, message: str | None = None) -> Response:
    data: dict[str, Any] = {"result": result, "timeout": TIMEOUT_S}
    if message:
        data["message"] = [{"language": "en", "text": message}]
    return ocpi_response(data)


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise OcpiError(INVALID_PARAMETERS, f"{name} is required")
    return value


async def _evse(ctx: HubContext, body: dict[str, Any]) -> tuple[str, int] | None:
    """Our station and OCPP connector behind location_id/evse_uid, or None."""
    stmt = (select(EvseRow).join(LocationRow, LocationRow.id == EvseRow.location_pk)
            .join(PartyRow, PartyRow.id == LocationRow.party_pk)
            .where(PartyRow.is_own.is_(True),
                   LocationRow.location_id == _field(body, "location_id"),
                   EvseRow.station_id.is_not(None)).order_by(EvseRow.id))
    if body.get("evse_uid"):
        stmt = stmt.where(EvseRow.uid == str(body["evse_uid"]))
    async with ctx.sessionmaker() as session:
        evse = (await session.scalars(stmt)).first()
    if evse is None or evse.station_id is None:
        return None
    return evse.station_id, evse.ocpp_connector_id or 1


def _spawn(ctx: HubContext, partner_id: int, response_url: str,
           work: Callable[[StationControl], Awaitable[str]]) -> None:
    async def run() -> None:
        control = cast("StationControl | None", ctx.components.get("station_control"))
        outcome = "failed" if control is None else await work(control)
        result = {"result": RESULTS.get(outcome, "FAILED")}
        async with transaction(ctx.sessionmaker) as session:
            enqueue(session, KIND, str(uuid.uuid4()), partner_id=partner_id,
                    payload={"response_url": response_url, "result": result}, now=ctx.clock())
        ctx.outbox_written()
        log.info("ocpi.command.result", partner_id=partner_id, result=result["result"])

    tasks: set[asyncio.Task[None]] = ctx.components.setdefault("ocpi_command_tasks", set())
    task = asyncio.create_task(run(), name="ocpi-command")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _start(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    try:
        token = schemas.Token.model_validate(body.get("token"))
    except ValidationError as exc:
        raise OcpiError(INVALID_PARAMETERS, f"token: {exc.errors()[0]['msg']}") from exc
    if caller.party(token.country_code, token.party_id, "EMSP") is None:
        raise OcpiError(INVALID_PARAMETERS, "token belongs to a party the caller doesn't own")
    target = await _evse(ctx, body)
    if target is None:
        return _response("REJECTED", "unknown location or EVSE")
    async with transaction(ctx.sessionmaker) as session:
        await upsert_token(session, token_to_domain(token), ctx.clock())
    station, connector = target
    _spawn(ctx, caller.partner_id, body["response_url"],
           lambda c: c.remote_start(station, connector, token.uid))
    return _response("ACCEPTED")


async def _stop(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    session_id = _field(body, "session_id")
    async with ctx.sessionmaker() as session:
        row = (await session.scalars(select(ChargingSessionRow).where(
            ChargingSessionRow.session_id == session_id,
            ChargingSessionRow.status == "ACTIVE",
            ChargingSessionRow.station_id.is_not(None)))).first()
    if row is None or row.station_id is None:
        return _response("UNKNOWN_SESSION")
    station, pk = row.station_id, row.id
    _spawn(ctx, caller.partner_id, body["response_url"], lambda c: c.remote_stop(station, pk))
    return _response("ACCEPTED")


async def _unlock(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    _field(body, "evse_uid")
    _field(body, "connector_id")
    target = await _evse(ctx, body)
    if target is None:
        return _response("REJECTED", "unknown location or EVSE")
    station, connector = target
    _spawn(ctx, caller.partner_id, body["response_url"], lambda c: c.unlock(station, connector))
    return _response("ACCEPTED")


@router.post(PATH + "/{command}")
async def receive_command(ctx: Ctx, caller: PartnerCaller, command: str,
                          request: Request) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise OcpiError(INVALID_PARAMETERS, "body must be a command object")
    if command not in COMMANDS:
        raise OcpiError(INVALID_PARAMETERS, f"unknown command {command}")
    check_response_url(ctx.settings, _field(body, "response_url"))
    if command == "START_SESSION":
        return await _start(ctx, caller, body)
    if command == "STOP_SESSION":
        return await _stop(ctx, caller, body)
    if command == "UNLOCK_CONNECTOR":
        return await _unlock(ctx, caller, body)
    return _response("NOT_SUPPORTED", f"{command} is not supported")


def command_result_handler(ctx: HubContext) -> DeliveryHandler:
    """POST the CommandResult to the eMSP's response_url (mod_commands, CommandResult)."""

    async def deliver(message: OutboxMessage) -> None:
        async with ctx.sessionmaker() as session:
            partner = await session.get(PartnerRow, message.partner_id) \
                if message.partner_id is not None else None
        if partner is None or not partner.token_out:
            raise DeliveryError("partner gone or without a token", retryable=False)
        url = str(message.payload["response_url"])
        try:
            reply = await ocpi_request(
                ctx.http, "POST", url, token=partner.token_out,
                use_base64=partner.token_out_base64, body=message.payload["result"],
                timeout_s=ctx.settings.ocpi.request_timeout,
                correlation_id=str(uuid.uuid4()), partner_id=partner.id)
        except OcpiUnreachable as exc:
            raise DeliveryError(str(exc)) from exc
        if reply.http_status >= 500:
            raise DeliveryError(f"response_url answered HTTP {reply.http_status}")
        if reply.http_status >= 400:
            raise DeliveryError(f"response_url answered HTTP {reply.http_status}",
                                retryable=False)

    return deliver
