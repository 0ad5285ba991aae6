"""ChargingProfiles module, Receiver interface of our CPO (OCPI 2.2.1 mod_charging_profiles).

``/ocpi/cpo/2.2.1/chargingprofiles/{session_id}`` for the sessions on our own stations:

- GET ``?duration=&response_url=``: the station's GetCompositeSchedule for the session's
  connector -> ActiveChargingProfileResult.
- PUT SetChargingProfile: an OCPP SetChargingProfile, TxProfile on the session's transaction
  (``cpo_core.profile_mapper``) -> ChargingProfileResult. The profile is kept per session
  (``OcpiChargingProfileRow``, its key is the OCPP chargingProfileId, so a new PUT replaces it).
- DELETE ``?response_url=``: ClearChargingProfile of that profile id -> ClearProfileResult.

Each answers a ChargingProfileResponse at once: UNKNOWN_SESSION when the session is not ours,
REJECTED when it belongs to another eMSP or is no longer ACTIVE, TOO_OFTEN for a PUT or GET on
the same session sooner than ``HUB_OCPI__PROFILE_MIN_INTERVAL_SECONDS`` after the last accepted
one of the same method (mod_charging_profiles "Flow": the CPO can limit the requests; a DELETE
is never limited, a limit must always be removable), ACCEPTED otherwise; the result follows
through ``ocpi.command_journal`` (outbox, journal). Station outcomes ->
ChargingProfileResultType: accepted ACCEPTED, unknown UNKNOWN (Clear), anything else REJECTED
(the type has no TIMEOUT/FAILED value).

Updated ActiveChargingProfiles (mod_charging_profiles, Sender interface, PUT
``{chargingprofiles_endpoint_url}{session_id}``): when the station's limits change for another
reason (the operator sets or clears a profile: ``hub.services.records.note_profile_change``),
the partner that once set a profile on the session gets the station's composite schedule for
the next ``ACTIVE_PROFILE_SECONDS`` (the spec's guide: 5 to 60 minutes), or, when the station
has no schedule any more, the EVSE's maximum capacity (the spec: "SHALL reflect this by showing
the maximum charging capacity of the EVSE").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, cast

import structlog
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, EvseRow, PartnerRow, PartyRow
from hub.db.models_ocpi_commands import OcpiChargingProfileRow, OcpiCommandRow
from hub.domain import PartyRef
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage, StationControl
from hub.services.parties import party_ref
from ocpi.auth import Caller, Ctx, PartnerCaller
from ocpi.chargingprofile_mappers import (
    SetChargingProfile,
    active_profile,
    limits_to_domain,
)
from ocpi.command_journal import After, record, spawn, timed_response
from ocpi.delivery import receiver_target, send
from ocpi.encoding import jsonable
from ocpi.errors import OcpiRoute
from ocpi.parsing import parse_body
from ocpi.security import check_response_url
from ocpi.urls import CPO_PREFIX

log = structlog.get_logger("ocpi.chargingprofiles")

PATH = f"{CPO_PREFIX}/chargingprofiles"
MODULE = "chargingprofiles"
TIMEOUT_S = 30  # ChargingProfileResponse.timeout
REJECTED = {"result": "REJECTED"}
ACTIVE_PROFILE_SECONDS = 900  # duration of a pushed ActiveChargingProfile (spec: 5-60 min)
LIMITED = ("PUT", "GET")  # TOO_OFTEN applies to these; a DELETE is always allowed

router = APIRouter(route_class=OcpiRoute)


@dataclass(frozen=True)
class Target:
    pk: int
    station_id: str
    connector_id: int


def _response(result: str, message: str | None = None) -> Response:
    return timed_response(result, TIMEOUT_S, message)


def _result(outcome: str) -> dict[str, Any]:
    return {"result": {"accepted": "ACCEPTED", "unknown": "UNKNOWN"}.get(outcome, "REJECTED")}


async def our_session(session: AsyncSession, caller: Caller, session_id: str
                      ) -> tuple[ChargingSessionRow | None, bool]:
    """A session on one of our stations (or None), and whether it is the caller's: one of its
    eMSP parties' (a HUB-role caller may act for every eMSP)."""
    row = (await session.scalars(
        select(ChargingSessionRow).join(PartyRow, PartyRow.id == ChargingSessionRow.cpo_party_pk)
        .where(ChargingSessionRow.session_id == session_id, PartyRow.is_own.is_(True),
               ChargingSessionRow.station_id.is_not(None)))).first()
    if row is None:
        return None, False
    emsp = await session.get(PartyRow, row.emsp_party_pk) if row.emsp_party_pk else None
    mine = emsp is not None and caller.party(emsp.country_code, emsp.party_id,
                                             "EMSP") is not None
    return row, caller.is_hub or mine


async def _target(ctx: HubContext, caller: Caller, session_id: str
                  ) -> tuple[str, Target | None]:
    """The ChargingProfileResponseType for this session, and the session if ACCEPTED."""
    async with ctx.sessionmaker() as session:
        row, mine = await our_session(session, caller, session_id)
    if row is None or row.station_id is None:
        return "UNKNOWN_SESSION", None
    if not mine or row.status != "ACTIVE":
        return "REJECTED", None
    return "ACCEPTED", Target(row.id, row.station_id, row.ocpp_connector_id or 1)


async def _too_often(ctx: HubContext, command: str, session_id: str) -> bool:
    """mod_charging_profiles ChargingProfileResponseType TOO_OFTEN: the last accepted request
    with this method on this session (journaled in ``OcpiCommandRow``) is too recent."""
    interval = ctx.settings.ocpi.profile_min_interval_seconds
    if interval <= 0 or command not in LIMITED:
        return False
    since = ctx.clock() - timedelta(seconds=interval)
    async with ctx.sessionmaker() as session:
        recent = (await session.scalars(select(OcpiCommandRow.request).where(
            OcpiCommandRow.module == MODULE, OcpiCommandRow.command == command,
            OcpiCommandRow.response == "ACCEPTED", OcpiCommandRow.created_at > since))).all()
    return any(isinstance(r, dict) and r.get("session_id") == session_id for r in recent)


StationWork = Callable[[StationControl, Target], Awaitable[dict[str, Any]]]


async def _handle(ctx: HubContext, caller: Caller, command: str, session_id: str,
                  body: dict[str, Any], work: StationWork,
                  after: Callable[[Target], After] | None = None) -> Response:
    url = str(body["response_url"])
    check_response_url(ctx.settings, url)
    answer, target = await _target(ctx, caller, session_id)
    if target is not None and await _too_often(ctx, command, session_id):
        answer, target = "TOO_OFTEN", None
    entry = await record(ctx, caller.partner_id, MODULE, command,
                         {"session_id": session_id, **body}, url, answer)
    if target is None:
        return _response(answer, {
            "UNKNOWN_SESSION": None, "TOO_OFTEN": f"at most one {command} per "
            f"{ctx.settings.ocpi.profile_min_interval_seconds:g} s on a session",
        }.get(answer, "session is not an active session of your eMSP"))
    spawn(ctx, entry, caller.partner_id, url, lambda c: work(c, target), REJECTED,
          after(target) if after is not None else None)
    return _response("ACCEPTED")


@router.get(PATH + "/{session_id}")
async def get_active_profile(ctx: Ctx, caller: PartnerCaller, session_id: str,
                             duration: Annotated[int, Query(ge=1, le=86400)],
                             response_url: str) -> Response:
    async def work(control: StationControl, target: Target) -> dict[str, Any]:
        outcome, limits = await control.planned_limits(target.station_id,
                                                       target.connector_id, duration)
        result = _result(outcome)
        if limits is not None and result["result"] == "ACCEPTED":
            result["profile"] = active_profile(limits, ctx.clock())
        return result

    return await _handle(ctx, caller, "GET", session_id,
                         {"duration": duration, "response_url": response_url}, work)


@router.put(PATH + "/{session_id}")
async def put_profile(ctx: Ctx, caller: PartnerCaller, session_id: str,
                      request: Request) -> Response:
    req, body = await parse_body(request, SetChargingProfile)
    limits = limits_to_domain(req.charging_profile)
    stored: dict[str, int] = {}

    async def work(control: StationControl, target: Target) -> dict[str, Any]:
        stored["id"] = await _store_profile(ctx, caller, target, body)
        return _result(await control.set_limits(target.station_id, target.connector_id,
                                                target.pk, stored["id"], limits))

    def after(target: Target) -> After:
        async def mark(session: AsyncSession, result: dict[str, Any]) -> None:
            await _mark(session, stored.get("id"), result, ctx)
        return mark

    return await _handle(ctx, caller, "PUT", session_id, body, work, after)


@router.delete(PATH + "/{session_id}")
async def delete_profile(ctx: Ctx, caller: PartnerCaller, session_id: str,
                         response_url: str) -> Response:
    async def work(control: StationControl, target: Target) -> dict[str, Any]:
        async with ctx.sessionmaker() as session:
            row = (await session.scalars(select(OcpiChargingProfileRow).where(
                OcpiChargingProfileRow.session_pk == target.pk))).first()
        if row is None:
            return {"result": "UNKNOWN"}  # nothing set through OCPI on this session
        return _result(await control.clear_limits(target.station_id, row.id))

    def after(target: Target) -> After:
        async def mark(session: AsyncSession, result: dict[str, Any]) -> None:
            row = (await session.scalars(select(OcpiChargingProfileRow).where(
                OcpiChargingProfileRow.session_pk == target.pk))).first()
            if row is not None and result["result"] in ("ACCEPTED", "UNKNOWN"):
                row.status, row.updated_at = "CLEARED", ctx.clock()
        return mark

    return await _handle(ctx, caller, "DELETE", session_id, {"response_url": response_url},
                         work, after)


async def _store_profile(ctx: HubContext, caller: Caller, target: Target,
                         body: dict[str, Any]) -> int:
    async with transaction(ctx.sessionmaker) as session:
        row = (await session.scalars(select(OcpiChargingProfileRow).where(
            OcpiChargingProfileRow.session_pk == target.pk))).first()
        if row is None:
            row = OcpiChargingProfileRow(session_pk=target.pk)
            session.add(row)
        row.partner_id, row.status, row.updated_at = caller.partner_id, "REQUESTED", ctx.clock()
        row.profile = jsonable(body["charging_profile"])
        await session.flush()
        return row.id


async def _mark(session: AsyncSession, profile_pk: int | None, result: dict[str, Any],
                ctx: HubContext) -> None:
    row = await session.get(OcpiChargingProfileRow, profile_pk) if profile_pk else None
    if row is not None:
        row.status = "ACCEPTED" if result["result"] == "ACCEPTED" else "REJECTED"
        row.updated_at = ctx.clock()


async def profile_of(session: AsyncSession, session_pk: int) -> dict[str, Any] | None:
    """The profile set through OCPI on one of our sessions, with its state (admin, tests)."""
    row = (await session.scalars(select(OcpiChargingProfileRow).where(
        OcpiChargingProfileRow.session_pk == session_pk))).first()
    return None if row is None else {"id": row.id, "status": row.status,
                                     "profile": row.profile}


# -- Sender interface PUT: updated ActiveChargingProfiles (mod_charging_profiles) -------------


@dataclass(frozen=True)
class _Push:
    session_id: str
    station_id: str
    connector_id: int
    sender: PartyRef
    receiver: PartyRef | None
    capacity: dict[str, Any] | None


async def _max_capacity(session: AsyncSession, row: ChargingSessionRow) -> dict[str, Any] | None:
    """The EVSE's maximum as a ChargingProfile: W when its power is known, else A."""
    evse = await session.get(EvseRow, row.evse_pk) if row.evse_pk else None
    connector = evse.connectors[0] if evse is not None and evse.connectors else None
    if connector is None:
        return None
    unit, limit = ("W", connector.max_electric_power) if connector.max_electric_power \
        else ("A", connector.max_amperage)
    return {"charging_rate_unit": unit, "duration": ACTIVE_PROFILE_SECONDS,
            "charging_profile_period": [{"start_period": 0, "limit": Decimal(limit)}]}


async def _push_subject(ctx: HubContext, message: OutboxMessage) -> tuple[_Push, Any]:
    try:
        pk = int(message.subject)
    except ValueError as exc:
        raise DeliveryError(f"bad subject {message.subject!r}", retryable=False) from exc
    async with transaction(ctx.sessionmaker) as db:
        row = await db.get(ChargingSessionRow, pk)
        if row is None or row.status != "ACTIVE" or row.station_id is None:
            raise DeliveryError(f"session {pk} is no longer active", retryable=False)
        partner = await db.get(PartnerRow, message.partner_id) \
            if message.partner_id is not None else None
        target = await receiver_target(ctx, db, partner, MODULE, role="SENDER")
        cpo = await db.get(PartyRow, row.cpo_party_pk)
        emsp = await db.get(PartyRow, row.emsp_party_pk) if row.emsp_party_pk else None
        assert cpo is not None
        push = _Push(row.session_id, row.station_id, row.ocpp_connector_id or 1,
                     party_ref(cpo), party_ref(emsp) if emsp else None,
                     await _max_capacity(db, row))
    return push, target


def active_profile_handler(ctx: HubContext) -> DeliveryHandler:
    """PUT ``{chargingprofiles Sender url}/{session_id}`` with the session's ActiveChargingProfile
    as the station plans it now (mod_charging_profiles, Sender interface, PUT)."""

    async def push_active_profile(message: OutboxMessage) -> None:
        push, target = await _push_subject(ctx, message)
        control = cast("StationControl | None", ctx.components.get("station_control"))
        if control is None:
            raise DeliveryError("no station control (CPO core) in this process")
        outcome, limits = await control.planned_limits(push.station_id, push.connector_id,
                                                       ACTIVE_PROFILE_SECONDS)
        now: datetime = ctx.clock()
        if outcome == "accepted" and limits is not None:
            body = active_profile(limits, now)
        elif outcome in ("accepted", "rejected", "unknown") and push.capacity is not None:
            body = {"start_date_time": now, "charging_profile": push.capacity}  # no schedule
        else:
            raise DeliveryError(f"station {push.station_id}: composite schedule {outcome}")
        await send(ctx, target, "PUT", f"{target.url}/{push.session_id}", body,
                   push.sender, push.receiver)
        log.info("ocpi.chargingprofiles.active_profile_pushed", partner_id=target.partner_id,
                 session_id=push.session_id, source=outcome)

    return push_active_profile
