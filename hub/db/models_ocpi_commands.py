"""ORM models: OCPI commands and charging profiles (issue 5, migration 0010).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` numbers, ``UTCDateTime`` time.

- ``OcpiCommandRow``: the journal of every command (mod_commands) and charging profile
  request (mod_charging_profiles) a partner sent to our CPO, with the synchronous answer and
  the asynchronous result as it was POSTed to ``response_url``.
- ``OcpiReservationRow``: an OCPI ``reservation_id`` (owned by the token's eMSP, per Location)
  and the OCPP reservation that carries it on the station (mod_commands ReserveNow: the id
  sent to the station is ours, never the eMSP's).
- ``OcpiChargingProfileRow``: the profile an eMSP set on one of our sessions.
- ``OcpiChargingPreferencesRow``: the driver's charging preferences on one of our sessions.
- ``OcpiTariffTombstoneRow`` (migration 0016): one of our tariffs deleted by the operator, kept
  so ``ocpi.push_own`` DELETEs it once at every partner that receives our tariffs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import ExactDecimal, UTCDateTime

__all__ = ["OcpiChargingPreferencesRow", "OcpiChargingProfileRow", "OcpiCommandRow",
           "OcpiReservationRow", "OcpiTariffTombstoneRow"]


class OcpiCommandRow(Base):
    __tablename__ = "ocpi_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), nullable=True, index=True)
    module: Mapped[str] = mapped_column(String(16))  # commands | chargingprofiles
    command: Mapped[str] = mapped_column(String(24))  # CommandType, or GET/PUT/DELETE
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # token uids masked
    response_url: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(String(24))  # the synchronous *ResponseType
    # PENDING (station asked) | DONE (result queued for response_url) | ANSWERED (no result
    # follows: the synchronous response was not ACCEPTED)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OcpiReservationRow(Base):
    __tablename__ = "ocpi_reservations"
    __table_args__ = (
        UniqueConstraint("country_code", "party_id", "location_id", "reservation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), nullable=True)
    country_code: Mapped[str] = mapped_column(String(2))  # the token's eMSP
    party_id: Mapped[str] = mapped_column(String(3))
    reservation_id: Mapped[str] = mapped_column(String(36))
    location_id: Mapped[str] = mapped_column(String(36))
    evse_uid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    authorization_reference: Mapped[str | None] = mapped_column(String(36), nullable=True)
    token_uid: Mapped[str] = mapped_column(String(36))
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    connector_id: Mapped[int] = mapped_column(Integer)
    ocpp_reservation_pk: Mapped[int | None] = mapped_column(
        ForeignKey("ocpp_reservations.id"), nullable=True)
    expiry_date: Mapped[datetime] = mapped_column(UTCDateTime)
    # REQUESTED | RESERVED | REJECTED | CANCELLING (the eMSP's CANCEL_RESERVATION at the
    # station) | CANCELLED | EXPIRED | USED
    status: Mapped[str] = mapped_column(String(16))
    session_pk: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Migration 0016 (mod_sessions "Reservation"): the OCPI Session id of the reservation
    # (status RESERVATION; the charging session that uses it takes the same id), and the
    # RESERVE_NOW's response_url (mod_commands: a CPO cancel is a CANCELED_RESERVATION result).
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    response_url: Mapped[str | None] = mapped_column(Text, nullable=True)


class OcpiChargingProfileRow(Base):
    """One per session; its integer key is the OCPP ``chargingProfileId`` (TxProfile)."""

    __tablename__ = "ocpi_charging_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_pk: Mapped[int] = mapped_column(ForeignKey("charging_sessions.id"), unique=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), nullable=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)  # OCPI ChargingProfile
    # REQUESTED | ACCEPTED | REJECTED | FAILED | CLEARED
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OcpiChargingPreferencesRow(Base):
    __tablename__ = "ocpi_charging_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_pk: Mapped[int] = mapped_column(ForeignKey("charging_sessions.id"), unique=True)
    profile_type: Mapped[str] = mapped_column(String(16))
    departure_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    energy_need: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)  # kWh
    discharge_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    response: Mapped[str] = mapped_column(String(32))  # ChargingPreferencesResponse
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OcpiTariffTombstoneRow(Base):
    """A deleted tariff of ours (mod_tariffs Receiver DELETE is pushed from it); removed when
    a tariff with the same id is saved again."""

    __tablename__ = "ocpi_tariff_tombstones"
    __table_args__ = (UniqueConstraint("country_code", "party_id", "tariff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2))  # our CPO
    party_id: Mapped[str] = mapped_column(String(3))
    tariff_id: Mapped[str] = mapped_column(String(36))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
