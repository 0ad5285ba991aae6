"""Sessions of OCPI reservations on our own stations (issue 5; OCPI 2.2.1 mod_sessions
"Reservation", mod_commands "Reservation canceled by the CPO").

mod_sessions "Reservation": "When a EV driver makes a Reservation for a Charge Point/EVSE, the
Sender SHALL create a new Session object with status = RESERVED [the SessionStatus value is
RESERVATION]. When the Push model is used, the CPO SHALL push the new Session object to the
Receiver. When a reservation results in a charging session for the same Token, the Session
object status [becomes] ACTIVE. When a reservation does not result in a charging session, the
Session object status SHALL be set to: COMPLETED."

- A RESERVE_NOW the station accepts gets an OCPI Session id (``OcpiReservationRow.session_id``)
  and that Session is PUT to the token's eMSP: status RESERVATION, kwh 0, auth_method COMMAND,
  the reserved EVSE and connector, ``start_date_time`` = when the reservation was made.
- Used: the charging session takes the same id at its start
  (``hub.services.records.link_ocpi_reservation``), so the eMSP sees that Session become
  ACTIVE, then COMPLETED, and the CDR names it.
- Not used: cancelled by the eMSP (CANCEL_RESERVATION), cancelled by the CPO, or expired: the
  Session is PUT with status COMPLETED (``end_date_time`` = then, kwh 0). No CDR follows: our
  tariffs price no reservation time (mod_sessions: "A CDR might be created").
- Cancelled by the CPO: the station's reservation ``Cancelled`` through the operator's admin
  API, or ``Removed`` by an OCPP 2.0.1 station (ReservationStatusUpdate), while we hold it
  RESERVED. The eMSP gets the CommandResult CANCELED_RESERVATION at the RESERVE_NOW's
  ``response_url`` (mod_commands CommandResultType; "To Cancel a reservation the CPO call the
  Senders interface with the same URL as was given by the Sender (eMSP) when the RESERVE_NOW
  command was send"). An expiry (ours, or ``Expired`` from the station) is not a cancel.

``reservation_scan`` (run with the push of our own objects, ``ocpi.push_own``) finds the
cancelled and the expired ones. The reservation's Session is not in our Sessions Sender GET
list (it has no ``charging_sessions`` row until it is used).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import (
    EvseRow,
    LocationRow,
    OcppReservationRow,
    PartnerRow,
    PartyRow,
    TokenRow,
)
from hub.db.models_ocpi_commands import OcpiReservationRow
from hub.domain import ChargingSession, PartyRef
from hub.outbox import enqueue
from hub.ports import DeliveryError, DeliveryHandler, OutboxMessage
from hub.services.network import tariff_for_location
from hub.services.parties import find_party, party_ref
from hub.services.records import RESERVATION_SESSION_KIND
from ocpi.command_journal import queue_result
from ocpi.delivery import receiver_target, send
from ocpi.mappers import session_from_domain

log = structlog.get_logger("ocpi.reservation_sessions")

KIND = RESERVATION_SESSION_KIND
# OcpiReservationRow.status while the Session is in status RESERVATION
LIVE = ("RESERVED", "REPLACING", "CANCELLING")
ENDED = ("CANCELLED", "EXPIRED")  # Session COMPLETED
CPO_CANCELLED = ("Cancelled", "Removed")  # OcppReservationRow.status: admin API, 2.0.1 H04
STATION_EXPIRED = ("Expired",)  # OCPP 2.0.1 H04 ReservationStatusUpdate
# A StartTransaction may reach us a little after the expiry it started before: the
# reservation is expired only this long after its expiry_date, so such a start still uses it.
EXPIRY_GRACE = timedelta(minutes=1)


async def emsp_partner(session: AsyncSession, row: OcpiReservationRow) -> int | None:
    """The partner of the token's eMSP (the Session goes there), else the one that reserved."""
    party = await find_party(session, row.country_code, row.party_id, "EMSP")
    if party is not None and not party.is_own and party.partner_id is not None:
        return party.partner_id
    return row.partner_id


async def queue_session(session: AsyncSession, row: OcpiReservationRow, now: datetime) -> None:
    """Queue a PUT of the reservation's Session (sent as it is then). Caller's unit."""
    partner_id = await emsp_partner(session, row)
    if row.session_id is not None and partner_id is not None:
        enqueue(session, KIND, str(row.id), partner_id=partner_id, now=now)


async def _evse(session: AsyncSession, row: OcpiReservationRow) -> EvseRow | None:
    return (await session.scalars(select(EvseRow).where(
        EvseRow.station_id == row.station_id,
        EvseRow.ocpp_connector_id == row.connector_id).order_by(EvseRow.id))).first()


async def reservation_session(session: AsyncSession, row: OcpiReservationRow
                              ) -> ChargingSession | None:
    """The reservation as an OCPI Session, or None when it has none (not accepted) or the
    charging session that used it is the Session now."""
    if row.session_id is None or (row.status not in LIVE and row.status not in ENDED):
        return None
    evse = await _evse(session, row)
    loc = await session.get(LocationRow, evse.location_pk) if evse is not None else None
    cpo = await session.get(PartyRow, loc.party_pk) if loc is not None else None
    if cpo is None:
        return None  # the EVSE left our network meanwhile
    emsp = await find_party(session, row.country_code, row.party_id, "EMSP")
    token = (await session.scalars(select(TokenRow).where(
        TokenRow.uid == row.token_uid, TokenRow.party_pk == (emsp.id if emsp else -1)))).first()
    tariff = await tariff_for_location(session, loc.id if loc is not None else None)
    ended = row.status in ENDED
    return ChargingSession(
        cpo=party_ref(cpo), id=row.session_id, start_date_time=row.created_at,
        end_date_time=row.updated_at if ended else None, kwh=Decimal(0),
        token_uid=row.token_uid, token_type=token.type if token else "APP_USER",
        contract_id=token.contract_id if token else row.token_uid,
        token_owner=PartyRef(row.country_code, row.party_id, "EMSP"),
        # mod_sessions auth_method: "started with a reservation: ReserveNow: COMMAND"
        auth_method="COMMAND", authorization_reference=row.authorization_reference,
        location_id=row.location_id, evse_uid=evse.uid if evse else None,
        connector_id=evse.connectors[0].connector_id if evse and evse.connectors else None,
        currency=tariff.currency if tariff else "EUR",
        status="COMPLETED" if ended else "RESERVATION",
        total_cost_excl_vat=None, total_cost_incl_vat=None, last_updated=row.updated_at)


def reservation_session_handler(ctx: HubContext) -> DeliveryHandler:
    """PUT the reservation's Session to the eMSP's sessions Receiver (mod_sessions, PUT)."""

    async def deliver(message: OutboxMessage) -> None:
        async with transaction(ctx.sessionmaker) as db:
            row = await db.get(OcpiReservationRow, int(message.subject))
            if row is None:
                raise DeliveryError(f"reservation {message.subject} is gone", retryable=False)
            s = await reservation_session(db, row)
            if s is None:  # used meanwhile: the charging session is pushed instead
                return
            partner = await db.get(PartnerRow, message.partner_id) \
                if message.partner_id is not None else None
            target = await receiver_target(ctx, db, partner, "sessions")
        url = f"{target.url}/{s.cpo.country_code}/{s.cpo.party_id}/{s.id}"
        await send(ctx, target, "PUT", url, session_from_domain(s), s.cpo, s.token_owner)
        log.info("ocpi.reservation_session.delivered", partner_id=target.partner_id,
                 session_id=s.id, status=s.status)

    return deliver


async def reservation_scan(ctx: HubContext) -> int:
    """Ends the RESERVED reservations the CPO cancelled or that expired; returns how many."""
    now = ctx.clock()
    ended = 0
    async with transaction(ctx.sessionmaker) as db:
        rows = (await db.execute(
            select(OcpiReservationRow, OcppReservationRow.status)
            .outerjoin(OcppReservationRow,
                       OcppReservationRow.id == OcpiReservationRow.ocpp_reservation_pk)
            .where(OcpiReservationRow.status == "RESERVED"))).all()
        for row, station_status in rows:
            if station_status in CPO_CANCELLED:
                row.status = "CANCELLED"
                if row.response_url:
                    queue_result(db, row.partner_id, row.response_url,
                                 {"result": "CANCELED_RESERVATION"}, now)
            elif station_status in STATION_EXPIRED or row.expiry_date <= now - EXPIRY_GRACE:
                row.status = "EXPIRED"
            else:
                continue
            row.updated_at = now
            await queue_session(db, row, now)
            ended += 1
            log.info("ocpi.reservation.ended", reservation=row.id, status=row.status,
                     station_status=station_status)
    if ended:
        ctx.outbox_written()
    return ended
