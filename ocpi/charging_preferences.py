"""Sessions module, Sender interface of our CPO: PUT Charging Preferences (OCPI 2.2.1
mod_sessions "Set: Charging Preferences", ChargingPreferences object, ChargingPreferencesResponse).

``PUT /ocpi/cpo/2.2.1/sessions/{session_id}/charging_preferences`` on an ACTIVE session of our
own stations, by the session's eMSP. The answer comes from one table (``decide``) and is stored
with the preferences in ``OcpiChargingPreferencesRow``:

- ``profile_type`` REGULAR or FASTEST: ACCEPTED (our stations charge as fast as their limits
  allow; neither needs a departure or an energy need). CHEAPEST and GREEN need a schedule
  planned around prices or the energy mix, which we don't do: PROFILE_TYPE_NOT_SUPPORTED.
- ``departure_time`` not in the future, or ``energy_need`` not above 0: NOT_POSSIBLE.
- ``discharge_allowed`` true: NOT_POSSIBLE (no bidirectional charging on our stations).
- A session that is not ours (or not the caller's) -> HTTP 404, 2001: the spec's answer for an
  EVSE without CHARGING_PREFERENCES_CAPABLE, the closest it has for an unknown session.
- A session that has ended: NOT_POSSIBLE.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy import select

from hub.db.base import transaction
from hub.db.models_ocpi_commands import OcpiChargingPreferencesRow
from ocpi.auth import Ctx, PartnerCaller
from ocpi.chargingprofiles import our_session
from ocpi.errors import INVALID_PARAMETERS, OcpiError, OcpiRoute
from ocpi.parsing import parse_body
from ocpi.response import ocpi_response
from ocpi.schemas import DateTime, OcpiModel
from ocpi.urls import CPO_PREFIX

PATH = f"{CPO_PREFIX}/sessions/{{session_id}}/charging_preferences"
ProfileType = Literal["CHEAPEST", "FASTEST", "GREEN", "REGULAR"]
SUPPORTED: frozenset[str] = frozenset({"FASTEST", "REGULAR"})

router = APIRouter(route_class=OcpiRoute)


class ChargingPreferences(OcpiModel):
    profile_type: ProfileType
    departure_time: DateTime | None = None
    energy_need: Annotated[Decimal, Field(ge=0)] | None = None
    discharge_allowed: bool = False


def decide(prefs: ChargingPreferences, session_active: bool, now: datetime) -> str:
    """The ChargingPreferencesResponse, first matching rule wins."""
    rules: tuple[tuple[bool, str], ...] = (
        (prefs.profile_type not in SUPPORTED, "PROFILE_TYPE_NOT_SUPPORTED"),
        (not session_active, "NOT_POSSIBLE"),
        (prefs.departure_time is not None and prefs.departure_time <= now, "NOT_POSSIBLE"),
        (prefs.energy_need is not None and prefs.energy_need <= 0, "NOT_POSSIBLE"),
        (prefs.discharge_allowed, "NOT_POSSIBLE"),
    )
    return next((answer for hit, answer in rules if hit), "ACCEPTED")


@router.put(PATH)
async def put_charging_preferences(ctx: Ctx, caller: PartnerCaller, session_id: str,
                                   request: Request) -> Response:
    prefs, _ = await parse_body(request, ChargingPreferences)
    now = ctx.clock()
    async with transaction(ctx.sessionmaker) as session:
        row, mine = await our_session(session, caller, session_id)
        if row is None or not mine:
            raise OcpiError(INVALID_PARAMETERS, f"unknown session {session_id}", 404)
        answer = decide(prefs, row.status == "ACTIVE", now)
        stored = (await session.scalars(select(OcpiChargingPreferencesRow).where(
            OcpiChargingPreferencesRow.session_pk == row.id))).first()
        if stored is None:
            stored = OcpiChargingPreferencesRow(session_pk=row.id)
            session.add(stored)
        stored.profile_type, stored.departure_time = prefs.profile_type, prefs.departure_time
        stored.energy_need, stored.discharge_allowed = prefs.energy_need, prefs.discharge_allowed
        stored.response, stored.updated_at = answer, now
    return ocpi_response(answer)
