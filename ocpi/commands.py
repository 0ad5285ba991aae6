"""Commands module, Receiver interface of our CPO (OCPI 2.2.1 mod_commands; issue 5).

``POST /ocpi/cpo/2.2.1/commands/{command}`` answers the CommandResponse at once (mod_commands
"Receiver Interface", "CommandResponse object"); the station is then asked through the
``hub.ports.StationControl`` port (``ctx.components["station_control"]``, the CPO core) and
the CommandResult is POSTed to the eMSP's ``response_url`` through the outbox
(``ocpi.command_journal``, which also journals every command in ``OcpiCommandRow``).

- START_SESSION: the token is stored (owner must be the caller's eMSP) so the station's
  StartTransaction is authorized and the session is pushed to that eMSP as usual.
- STOP_SESSION: an ACTIVE session of ours, else UNKNOWN_SESSION.
- UNLOCK_CONNECTOR: unknown location/EVSE/connector -> REJECTED.
- RESERVE_NOW: an OCPP ReserveNow with our own reservation id (``OcpiReservationRow`` maps the
  eMSP's reservation_id to it); expired expiry_date or unknown location/EVSE -> REJECTED.
  The session that follows on that connector with that token carries the reservation's
  authorization_reference and its Session id (``hub.services.records.link_ocpi_reservation``);
  the reservation itself is a Session in status RESERVATION (``ocpi.reservation_sessions``).
- CANCEL_RESERVATION: unknown reservation_id -> REJECTED; station doesn't know it ->
  CommandResult UNKNOWN_RESERVATION. A reservation the CPO cancels gets the CommandResult
  CANCELED_RESERVATION at the RESERVE_NOW's response_url (``ocpi.reservation_sessions``).
Station outcomes -> CommandResultType: accepted ACCEPTED, rejected REJECTED, occupied
EVSE_OCCUPIED, offline EVSE_INOPERATIVE, timeout TIMEOUT, failed FAILED, unknown
UNKNOWN_RESERVATION.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, EvseRow, LocationRow, PartnerRow, PartyRow
from hub.db.models_ocpi_commands import OcpiReservationRow
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage, StationControl
from hub.services.tokens import upsert_token
from ocpi import schemas
from ocpi.auth import Ctx, PartnerCaller
from ocpi.client import OcpiUnreachable, ocpi_request
from ocpi.command_journal import KIND, After, record, spawn, timed_response
from ocpi.encoding import loads
from ocpi.errors import INVALID_PARAMETERS, OcpiError, OcpiRoute
from ocpi.mappers import token_to_domain
from ocpi.parsing import json_body
from ocpi.reservation_sessions import queue_session
from ocpi.schemas import CiString36, DateTime, OcpiModel
from ocpi.security import check_response_url
from ocpi.urls import CPO_PREFIX

log = structlog.get_logger("ocpi.commands")

PATH = f"{CPO_PREFIX}/commands"
__all__ = ["KIND", "command_result_handler", "router"]
TIMEOUT_S = 30  # CommandResponse.timeout: how long the eMSP waits for our CommandResult
# StationControl outcome -> CommandResultType (mod_commands CommandResultType enum)
RESULTS = {"accepted": "ACCEPTED", "rejected": "REJECTED", "occupied": "EVSE_OCCUPIED",
           "offline": "EVSE_INOPERATIVE", "timeout": "TIMEOUT", "failed": "FAILED",
           "unknown": "UNKNOWN_RESERVATION"}
COMMANDS = ("START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR", "RESERVE_NOW",
            "CANCEL_RESERVATION")
FAILED = {"result": "FAILED"}
# OcpiReservationRow.status (REPLACING: RESERVED, a new RESERVE_NOW at the station;
# CANCELLING: RESERVED, the eMSP's CANCEL_RESERVATION at the station)
REQUESTED, RESERVED, REJECTED, CANCELLED, USED = (
    "REQUESTED", "RESERVED", "REJECTED", "CANCELLED", "USED")
REPLACING, CANCELLING = "REPLACING", "CANCELLING"

router = APIRouter(route_class=OcpiRoute)


class ReserveNow(OcpiModel):
    """mod_commands ReserveNow object."""

    response_url: str
    token: schemas.Token
    expiry_date: DateTime
    reservation_id: CiString36
    location_id: CiString36
    evse_uid: CiString36 | None = None
    authorization_reference: CiString36 | None = None


class CancelReservation(OcpiModel):
    response_url: str
    reservation_id: CiString36


def _response(result: str, message: str | None = None) -> Response:
    return timed_response(result, TIMEOUT_S, message)


async def _answer(ctx: HubContext, caller: Any, command: str, body: dict[str, Any],
                  result: str, message: str | None = None) -> Response:
    """A CommandResponse after which no CommandResult follows (journaled as ANSWERED)."""
    await record(ctx, caller.partner_id, "commands", command, body, body["response_url"],
                 result)
    return _response(result, message)


def _station_result(outcome: str) -> dict[str, Any]:
    return {"result": RESULTS.get(outcome, "FAILED")}


async def _accept(ctx: HubContext, caller: Any, command: str, body: dict[str, Any],
                  work: Callable[[StationControl], Awaitable[dict[str, Any]]],
                  after: After | None = None) -> Response:
    """ACCEPTED now; the station is asked and the CommandResult queued afterwards."""
    entry = await record(ctx, caller.partner_id, "commands", command, body,
                         body["response_url"], "ACCEPTED")
    spawn(ctx, entry, caller.partner_id, body["response_url"], work, FAILED, after)
    return _response("ACCEPTED")


def _outcome(call: Callable[[StationControl], Awaitable[str]]
             ) -> Callable[[StationControl], Awaitable[dict[str, Any]]]:
    async def work(control: StationControl) -> dict[str, Any]:
        return _station_result(await call(control))
    return work


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


def _own_token(caller: Any, token: schemas.Token) -> None:
    # mod_commands: an eMSP SHALL only use Tokens it owns.
    if caller.party(token.country_code, token.party_id, "EMSP") is None:
        raise OcpiError(INVALID_PARAMETERS, "token belongs to a party the caller doesn't own")


async def _start(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    try:
        token = schemas.Token.model_validate(body.get("token"))
    except ValidationError as exc:
        raise OcpiError(INVALID_PARAMETERS, f"token: {exc.errors()[0]['msg']}") from exc
    _own_token(caller, token)
    target = await _evse(ctx, body)
    if target is None:
        return await _answer(ctx, caller, "START_SESSION", body, "REJECTED",
                             "unknown location or EVSE")
    async with transaction(ctx.sessionmaker) as session:
        await upsert_token(session, token_to_domain(token), ctx.clock())
    station, connector = target
    return await _accept(ctx, caller, "START_SESSION", body, _outcome(
        lambda c: c.remote_start(station, connector, token.uid)))


async def _stop(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    session_id = _field(body, "session_id")
    async with ctx.sessionmaker() as session:
        row = (await session.scalars(select(ChargingSessionRow).where(
            ChargingSessionRow.session_id == session_id,
            ChargingSessionRow.status == "ACTIVE",
            ChargingSessionRow.station_id.is_not(None)))).first()
    if row is None or row.station_id is None:
        return await _answer(ctx, caller, "STOP_SESSION", body, "UNKNOWN_SESSION")
    station, pk = row.station_id, row.id
    return await _accept(ctx, caller, "STOP_SESSION", body, _outcome(
        lambda c: c.remote_stop(station, pk)))


async def _unlock(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    _field(body, "evse_uid")
    _field(body, "connector_id")
    target = await _evse(ctx, body)
    if target is None:
        return await _answer(ctx, caller, "UNLOCK_CONNECTOR", body, "REJECTED",
                             "unknown location or EVSE")
    station, connector = target
    return await _accept(ctx, caller, "UNLOCK_CONNECTOR", body, _outcome(
        lambda c: c.unlock(station, connector)))


async def _reserve(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    """mod_commands ReserveNow: the station gets our own reservation id (an
    ``OcppReservationRow`` key); the same reservation_id at the same Location replaces the
    reservation (a new station reservation, the old one cancelled once the new is accepted)."""
    req = ReserveNow.model_validate(body)
    _own_token(caller, req.token)
    if req.expiry_date <= ctx.clock():
        return await _answer(ctx, caller, "RESERVE_NOW", body, "REJECTED",
                             "expiry_date is in the past")
    target = await _evse(ctx, body)
    if target is None:
        return await _answer(ctx, caller, "RESERVE_NOW", body, "REJECTED",
                             "unknown location or EVSE")
    station, connector = target
    async with transaction(ctx.sessionmaker) as session:  # as START_SESSION: so the
        await upsert_token(session, token_to_domain(req.token), ctx.clock())  # driver starts
    pk, old = await _reservation_row(ctx, caller, req, station, connector)
    made: dict[str, int | None] = {}

    async def work(control: StationControl) -> dict[str, Any]:
        outcome, made["ocpp"] = await control.reserve(station, connector, req.token.uid,
                                                      req.expiry_date)
        if outcome == "accepted" and old is not None:  # the replaced one, best effort
            await control.cancel_reservation(*old)
        return _station_result(outcome)

    async def after(session: AsyncSession, result: dict[str, Any]) -> None:
        row = await session.get(OcpiReservationRow, pk)
        if row is None:
            return
        row.updated_at = ctx.clock()
        if result["result"] == "ACCEPTED":
            row.ocpp_reservation_pk, row.status = made.get("ocpp"), RESERVED
            row.station_id, row.connector_id = station, connector
            # mod_sessions "Reservation": a Session in status RESERVATION, pushed
            row.session_id = row.session_id or str(uuid.uuid4())
            await queue_session(session, row, ctx.clock())
        elif row.status == REPLACING:  # a refused replacement leaves the old one standing
            row.status = RESERVED
        elif row.status != RESERVED:
            row.status = REJECTED

    return await _accept(ctx, caller, "RESERVE_NOW", body, work, after)


async def _reservation_row(ctx: HubContext, caller: Any, req: ReserveNow, station: str,
                           connector: int) -> tuple[int, tuple[str, int] | None]:
    """The reservation's row (new, or the one being replaced) and the station reservation
    it replaces, if one stands."""
    now = ctx.clock()
    token = req.token
    async with transaction(ctx.sessionmaker) as session:
        row = (await session.scalars(select(OcpiReservationRow).where(
            OcpiReservationRow.country_code == token.country_code,
            OcpiReservationRow.party_id == token.party_id,
            OcpiReservationRow.location_id == req.location_id,
            OcpiReservationRow.reservation_id == req.reservation_id))).first()
        old = None
        if row is None:
            row = OcpiReservationRow(
                partner_id=caller.partner_id, country_code=token.country_code,
                party_id=token.party_id, reservation_id=req.reservation_id,
                location_id=req.location_id, status=REQUESTED, created_at=now,
                station_id=station, connector_id=connector)
            session.add(row)
        elif row.status == RESERVED and row.ocpp_reservation_pk is not None:
            old = (row.station_id, row.ocpp_reservation_pk)
            row.status = REPLACING  # the station's cancel of the old one is no CPO cancel
        else:  # a reservation_id used again after its reservation ended: a new Session
            row.status, row.station_id, row.connector_id = REQUESTED, station, connector
            row.session_id, row.created_at = None, now
        row.evse_uid, row.authorization_reference = req.evse_uid, req.authorization_reference
        row.response_url = req.response_url  # for a later CANCELED_RESERVATION
        row.token_uid, row.expiry_date = token.uid, req.expiry_date
        row.updated_at, row.session_pk = now, None
        await session.flush()
        return row.id, old


async def _cancel(ctx: HubContext, caller: Any, body: dict[str, Any]) -> Response:
    """mod_commands CancelReservation: a reservation_id we don't hold for one of the caller's
    eMSPs is REJECTED at once (CommandResponseType has no UNKNOWN_RESERVATION); a station that
    no longer knows the reservation gives the CommandResult UNKNOWN_RESERVATION."""
    req = CancelReservation.model_validate(body)
    emsps = [(p.country_code, p.party_id) for p in caller.parties if p.role == "EMSP"]
    async with ctx.sessionmaker() as session:
        rows = (await session.scalars(select(OcpiReservationRow).where(
            OcpiReservationRow.reservation_id == req.reservation_id,
            OcpiReservationRow.status == RESERVED,
            OcpiReservationRow.ocpp_reservation_pk.is_not(None)))).all()
    row = next((r for r in rows if any(r.country_code.upper() == cc.upper()
                                       and r.party_id.upper() == pid.upper()
                                       for cc, pid in emsps)), None)
    if row is None or row.ocpp_reservation_pk is None:
        return await _answer(ctx, caller, "CANCEL_RESERVATION", body, "REJECTED",
                             "unknown reservation_id")
    pk, station, ocpp_pk = row.id, row.station_id, row.ocpp_reservation_pk
    async with transaction(ctx.sessionmaker) as session:  # the station's Cancelled is ours
        stored = await session.get(OcpiReservationRow, pk)
        if stored is not None:
            stored.status = CANCELLING

    async def after(session: AsyncSession, result: dict[str, Any]) -> None:
        stored = await session.get(OcpiReservationRow, pk)
        if stored is None or stored.status != CANCELLING:
            return
        stored.updated_at = ctx.clock()
        if result["result"] in ("ACCEPTED", "UNKNOWN_RESERVATION"):
            stored.status = CANCELLED
            await queue_session(session, stored, ctx.clock())  # its Session: COMPLETED
        else:
            stored.status = RESERVED

    return await _accept(ctx, caller, "CANCEL_RESERVATION", body, _outcome(
        lambda c: c.cancel_reservation(station, ocpp_pk)), after)


@router.post(PATH + "/{command}")
async def receive_command(ctx: Ctx, caller: PartnerCaller, command: str,
                          request: Request) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise OcpiError(INVALID_PARAMETERS, "body must be a command object")
    if command not in COMMANDS:
        raise OcpiError(INVALID_PARAMETERS, f"unknown command {command}")
    check_response_url(ctx.settings, _field(body, "response_url"))
    handler = {"START_SESSION": _start, "STOP_SESSION": _stop, "UNLOCK_CONNECTOR": _unlock,
               "RESERVE_NOW": _reserve, "CANCEL_RESERVATION": _cancel}[command]
    return await handler(ctx, caller, body)


def _result_body(payload: dict[str, Any]) -> Any:
    if "result_json" in payload:
        return loads(str(payload["result_json"]))
    return payload["result"]  # rows queued before the journal existed


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
                use_base64=partner.token_out_base64, body=_result_body(message.payload),
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
