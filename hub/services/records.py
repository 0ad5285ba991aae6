"""Sessions and CDRs as domain values: reading ours, storing partners'."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import (
    CdrRow,
    ChargingSessionRow,
    EvseRow,
    LocationRow,
    PartyRow,
)
from hub.db.models_ocpi_commands import OcpiChargingProfileRow, OcpiReservationRow
from hub.domain import Cdr, ChargingSession, InvalidInput, NotFound, PartyRef
from hub.outbox import enqueue
from hub.services.parties import find_party, party_ref

# issue 5, OCPI mod_charging_profiles Sender interface (PUT): outbox kind of an updated
# ActiveChargingProfile; subject = the ChargingSessionRow pk, sent by ocpi.chargingprofiles.
ACTIVE_PROFILE_KIND = "ocpi_active_profile"
# issue 5, OCPI mod_sessions "Reservation": outbox kind of the Session (status RESERVATION,
# then COMPLETED if unused) of an OCPI reservation; subject = the OcpiReservationRow pk.
RESERVATION_SESSION_KIND = "ocpi_reservation_session"


async def _party(session: AsyncSession, pk: int | None) -> PartyRow | None:
    return await session.get(PartyRow, pk) if pk is not None else None


async def link_ocpi_reservation(session: AsyncSession, row: ChargingSessionRow) -> None:
    """issue 5, OCPI RESERVE_NOW: a session of ours on a reserved connector with the reserved
    token uses the reservation (marked USED) and carries its authorization_reference
    (mod_sessions Session.authorization_reference). It also takes the reservation's Session id
    (mod_sessions "Reservation": the Session in status RESERVATION becomes ACTIVE) when it is
    linked while ACTIVE, so before its CDR exists: at the start (OCPP 1.6 StartTransaction in
    ``cpo_core.handlers.operations``, OCPP 2.0.1 TransactionEvent in
    ``cpo_core.v201_transactions``). Idempotent; writes in the caller's unit."""
    if row.station_id is None or row.authorization_reference is not None:
        return
    found = (await session.scalars(select(OcpiReservationRow).where(
        OcpiReservationRow.station_id == row.station_id,
        OcpiReservationRow.connector_id == row.ocpp_connector_id,
        OcpiReservationRow.token_uid == row.token_uid,
        or_(OcpiReservationRow.session_pk.is_(None),
            OcpiReservationRow.session_pk == row.id),
        OcpiReservationRow.status.in_(("RESERVED", "REPLACING", "USED")),
        OcpiReservationRow.created_at <= row.start_date_time,
        OcpiReservationRow.expiry_date >= row.start_date_time,
    ).order_by(OcpiReservationRow.created_at.desc()).limit(1))).first()
    if found is None:
        return
    newly = found.session_pk is None
    found.status, found.session_pk, found.updated_at = "USED", row.id, row.last_updated
    row.authorization_reference = found.authorization_reference
    if newly and found.session_id and row.emsp_party_pk is not None and row.status == "ACTIVE":
        row.session_id = found.session_id  # the same OCPI Session, now ACTIVE


async def note_profile_change(session: AsyncSession, station_id: str,
                              connector_id: int | None, now: datetime) -> int:
    """issue 5: the charging limits on a station changed for another reason than an OCPI
    request (e.g. the operator set or cleared a profile). Queues an ActiveChargingProfile
    update for every ACTIVE session there (``connector_id`` None or 0: all connectors) whose
    profile a partner once set through OCPI (mod_charging_profiles: "SHALL NOT call this
    interface" otherwise). Writes in the caller's unit; returns how many were queued."""
    stmt = (select(ChargingSessionRow.id, OcpiChargingProfileRow.partner_id)
            .join(OcpiChargingProfileRow,
                  OcpiChargingProfileRow.session_pk == ChargingSessionRow.id)
            .where(ChargingSessionRow.station_id == station_id,
                   ChargingSessionRow.status == "ACTIVE",
                   OcpiChargingProfileRow.status.in_(("ACCEPTED", "CLEARED")),
                   OcpiChargingProfileRow.partner_id.is_not(None)))
    if connector_id:
        stmt = stmt.where(ChargingSessionRow.ocpp_connector_id == connector_id)
    rows = (await session.execute(stmt)).all()
    for pk, partner_id in rows:
        enqueue(session, ACTIVE_PROFILE_KIND, str(pk), partner_id=partner_id, now=now)
    return len(rows)


async def session_from_row(session: AsyncSession, row: ChargingSessionRow) -> ChargingSession:
    cpo = await _party(session, row.cpo_party_pk)
    emsp = await _party(session, row.emsp_party_pk)
    assert cpo is not None
    loc = await session.get(LocationRow, row.location_pk) if row.location_pk else None
    evse = await session.get(EvseRow, row.evse_pk) if row.evse_pk else None
    raw = row.raw or {}
    return ChargingSession(
        cpo=party_ref(cpo), id=row.session_id, start_date_time=row.start_date_time,
        end_date_time=row.end_date_time, kwh=row.kwh, token_uid=row.token_uid,
        token_type=row.token_type, contract_id=row.contract_id,
        token_owner=party_ref(emsp) if emsp else None, auth_method=row.auth_method,
        authorization_reference=row.authorization_reference,
        location_id=loc.location_id if loc else raw.get("location_id"),
        evse_uid=evse.uid if evse else raw.get("evse_uid"),
        connector_id=row.connector_id, currency=row.currency, status=row.status,
        total_cost_excl_vat=row.total_cost_excl_vat,
        total_cost_incl_vat=row.total_cost_incl_vat, last_updated=row.last_updated,
    )


async def get_session_by_pk(session: AsyncSession, pk: int) -> ChargingSession:
    row = await session.get(ChargingSessionRow, pk)
    if row is None:
        raise NotFound(f"unknown session {pk}")
    return await session_from_row(session, row)


async def cdr_from_row(session: AsyncSession, row: CdrRow) -> Cdr:
    cpo = await _party(session, row.cpo_party_pk)
    emsp = await _party(session, row.emsp_party_pk)
    assert cpo is not None
    return Cdr(
        cpo=party_ref(cpo), id=row.cdr_id, start_date_time=row.start_date_time,
        end_date_time=row.end_date_time, session_id=row.session_id, token_uid=row.token_uid,
        token_type=row.token_type, contract_id=row.contract_id,
        token_owner=party_ref(emsp) if emsp else None, auth_method=row.auth_method,
        authorization_reference=row.authorization_reference, location=row.location,
        currency=row.currency, total_energy=row.total_energy, total_time=row.total_time,
        total_parking_time=row.total_parking_time,
        total_cost_excl_vat=row.total_cost_excl_vat,
        total_cost_incl_vat=row.total_cost_incl_vat,
        charging_periods=tuple(row.charging_periods), tariffs=tuple(row.tariffs),
        vat_rate=row.vat_rate, vat_country=row.vat_country,
        breakdown=tuple(row.breakdown), credit=row.credit, last_updated=row.last_updated,
        credit_reference_id=(row.raw or {}).get("credit_reference_id") if row.credit else None,
    )


async def get_cdr_by_pk(session: AsyncSession, pk: int) -> Cdr:
    row = await session.get(CdrRow, pk)
    if row is None:
        raise NotFound(f"unknown CDR {pk}")
    return await cdr_from_row(session, row)


async def _party_for(session: AsyncSession, ref: PartyRef, partner_id: int | None) -> PartyRow:
    row = await find_party(session, ref.country_code, ref.party_id, ref.role)
    if row is None:
        if partner_id is None:
            raise InvalidInput(f"unknown party {ref}")
        row = PartyRow(country_code=ref.country_code, party_id=ref.party_id, role=ref.role,
                       partner_id=partner_id)
        session.add(row)
        await session.flush()
    return row


async def store_received_cdr(
    session: AsyncSession, cdr: Cdr, *, partner_id: int, raw: dict[str, Any], now: datetime
) -> tuple[CdrRow, bool]:
    """Store a partner CPO's CDR once. Returns (row, created); a repeat is not a second CDR.

    De-duplicated on (CPO country_code, party_id, id) as OCPI 2.2.1 mod_cdrs says CDRs are
    unique per CPO; CDRs are immutable, so a repeat does not overwrite the first.
    """
    cpo = await _party_for(session, cdr.cpo, partner_id)
    existing = (await session.scalars(select(CdrRow).where(
        CdrRow.cpo_party_pk == cpo.id, CdrRow.cdr_id == cdr.id))).first()
    if existing is not None:
        return existing, False
    emsp = (await find_party(session, cdr.token_owner.country_code, cdr.token_owner.party_id,
                             "EMSP")) if cdr.token_owner else None
    row = CdrRow(
        cdr_id=cdr.id, cpo_party_pk=cpo.id, emsp_party_pk=emsp.id if emsp else None,
        session_id=cdr.session_id, source="received", received_from_partner_id=partner_id,
        start_date_time=cdr.start_date_time, end_date_time=cdr.end_date_time,
        token_uid=cdr.token_uid, token_type=cdr.token_type, contract_id=cdr.contract_id,
        auth_method=cdr.auth_method, authorization_reference=cdr.authorization_reference,
        currency=cdr.currency, total_energy=cdr.total_energy, total_time=cdr.total_time,
        total_parking_time=cdr.total_parking_time, total_cost_excl_vat=cdr.total_cost_excl_vat,
        total_cost_incl_vat=cdr.total_cost_incl_vat, vat_rate=cdr.vat_rate,
        vat_country=cdr.vat_country, location=dict(cdr.location),
        tariffs=list(cdr.tariffs), charging_periods=list(cdr.charging_periods),
        raw=raw, credit=cdr.credit, last_updated=cdr.last_updated or now, created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, True


async def get_received_cdr(session: AsyncSession, cpo: PartyRef, cdr_id: str) -> Cdr:
    party = await find_party(session, cpo.country_code, cpo.party_id, "CPO")
    row = None
    if party is not None:
        row = (await session.scalars(select(CdrRow).where(
            CdrRow.cpo_party_pk == party.id, CdrRow.cdr_id == cdr_id))).first()
    if row is None:
        raise NotFound(f"unknown CDR {cdr_id}")
    return await cdr_from_row(session, row)


async def upsert_received_session(
    session: AsyncSession, s: ChargingSession, *, partner_id: int, raw: dict[str, Any],
    now: datetime,
) -> ChargingSessionRow:
    """A partner CPO's session (OCPI Sessions receiver, PUT): insert or replace."""
    cpo = await _party_for(session, s.cpo, partner_id)
    emsp = (await find_party(session, s.token_owner.country_code, s.token_owner.party_id,
                             "EMSP")) if s.token_owner else None
    row = (await session.scalars(select(ChargingSessionRow).where(
        ChargingSessionRow.cpo_party_pk == cpo.id,
        ChargingSessionRow.session_id == s.id))).first()
    if row is None:
        row = ChargingSessionRow(cpo_party_pk=cpo.id, session_id=s.id)
        session.add(row)
    row.emsp_party_pk = emsp.id if emsp else None
    row.token_uid, row.token_type, row.contract_id = s.token_uid, s.token_type, s.contract_id
    row.auth_method, row.authorization_reference = s.auth_method, s.authorization_reference
    row.connector_id, row.kwh = s.connector_id, s.kwh
    row.start_date_time, row.end_date_time = s.start_date_time, s.end_date_time
    row.status, row.currency = s.status, s.currency
    row.total_cost_excl_vat, row.total_cost_incl_vat = (s.total_cost_excl_vat,
                                                        s.total_cost_incl_vat)
    row.raw = {**raw, "location_id": s.location_id, "evse_uid": s.evse_uid}
    row.last_updated = s.last_updated or now
    await session.flush()
    return row


async def get_received_session(session: AsyncSession, cpo: PartyRef, session_id: str
                               ) -> ChargingSession:
    party = await find_party(session, cpo.country_code, cpo.party_id, "CPO")
    row = None
    if party is not None:
        row = (await session.scalars(select(ChargingSessionRow).where(
            ChargingSessionRow.cpo_party_pk == party.id,
            ChargingSessionRow.session_id == session_id))).first()
    if row is None:
        raise NotFound(f"unknown session {session_id}")
    return await session_from_row(session, row)


async def cdrs_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[Cdr, str]]:
    """CDRs that ended in [start, end), with their source ("own" or "received")."""
    rows = (await session.scalars(select(CdrRow).where(
        CdrRow.end_date_time >= start, CdrRow.end_date_time < end
    ).order_by(CdrRow.end_date_time, CdrRow.id))).all()
    return [(await cdr_from_row(session, r), r.source) for r in rows]


def as_decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
