"""ChargingProfiles module, Receiver interface of our CPO (OCPI 2.2.1 mod_charging_profiles).

``/ocpi/cpo/2.2.1/chargingprofiles/{session_id}`` for the sessions on our own stations:

- GET ``?duration=&response_url=``: the station's GetCompositeSchedule for the session's
  connector -> ActiveChargingProfileResult.
- PUT SetChargingProfile: an OCPP SetChargingProfile, TxProfile on the session's transaction
  (``cpo_core.profile_mapper``) -> ChargingProfileResult. The profile is kept per session
  (``OcpiChargingProfileRow``, its key is the OCPP chargingProfileId, so a new PUT replaces it).
- DELETE ``?response_url=``: ClearChargingProfile of that profile id -> ClearProfileResult.

Each answers a ChargingProfileResponse at once: UNKNOWN_SESSION when the session is not ours,
REJECTED when it belongs to another eMSP or is no longer ACTIVE, ACCEPTED otherwise; the result
follows through ``ocpi.command_journal`` (outbox, journal). Station outcomes ->
ChargingProfileResultType: accepted ACCEPTED, unknown UNKNOWN (Clear), anything else REJECTED
(the type has no TIMEOUT/FAILED value).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, PartyRow
from hub.db.models_ocpi_commands import OcpiChargingProfileRow
from hub.ports import StationControl
from ocpi.auth import Caller, Ctx, PartnerCaller
from ocpi.chargingprofile_mappers import (
    SetChargingProfile,
    active_profile,
    limits_to_domain,
)
from ocpi.command_journal import After, record, spawn, timed_response
from ocpi.encoding import jsonable
from ocpi.errors import OcpiRoute
from ocpi.parsing import parse_body
from ocpi.security import check_response_url
from ocpi.urls import CPO_PREFIX

PATH = f"{CPO_PREFIX}/chargingprofiles"
MODULE = "chargingprofiles"
TIMEOUT_S = 30  # ChargingProfileResponse.timeout
REJECTED = {"result": "REJECTED"}

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


StationWork = Callable[[StationControl, Target], Awaitable[dict[str, Any]]]


async def _handle(ctx: HubContext, caller: Caller, command: str, session_id: str,
                  body: dict[str, Any], work: StationWork,
                  after: Callable[[Target], After] | None = None) -> Response:
    url = str(body["response_url"])
    check_response_url(ctx.settings, url)
    answer, target = await _target(ctx, caller, session_id)
    entry = await record(ctx, caller.partner_id, MODULE, command,
                         {"session_id": session_id, **body}, url, answer)
    if target is None:
        return _response(answer, None if answer == "UNKNOWN_SESSION"
                         else "session is not an active session of your eMSP")
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
