"""All ORM models, in one module (STYLE.md: polar keeps its models together).

Identifiers follow OCPI where a protocol id exists (``location_id``, ``uid``, ``session_id``,
``cdr_id``) beside an integer surrogate key. Money and energy are ``ExactDecimal``; time is
``UTCDateTime``. Protocol-specific raw payloads are kept in JSON columns only where we must be
able to show a partner exactly what they sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db.base import Base
from hub.db.types import ExactDecimal, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class ChangeCounterRow(Base):
    """One row (id 1): bumped by every committed unit of work that wrote a table an in-process
    cache keeps, so that other processes drop their caches (hub.db.changes)."""

    __tablename__ = "change_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class PartyRow(Base):
    """A roaming party: (country_code, party_id, role). Our own parties have ``is_own``."""

    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("country_code", "party_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerRow(Base):
    """A platform we exchange data with (one OCPI connection, possibly several roles).

    Tokens we accept are stored only as SHA-256 hashes; the token we send is the one secret we
    must keep in clear (we present it on every call).
    """

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    protocol: Mapped[str] = mapped_column(String(16), default="ocpi")
    status: Mapped[str] = mapped_column(String(16), default="PLANNED")
    versions_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    endpoints: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    token_a_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    token_in_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    token_out: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_out_base64: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parties: Mapped[list[PartyRow]] = relationship(lazy="selectin")


class TariffRow(Base):
    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("party_pk", "tariff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    tariff_id: Mapped[str] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    # OCPI-shaped elements with Decimal values kept as strings (see hub.domain.tariffs).
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    alt_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Issue 4 (migration 0006): the full OCPI 2.2.1 tariff as validated (numbers as strings),
    # its min/max price, validity and type; ``source`` "own" or "partner" (a partner CPO's
    # tariff uploaded for re-pricing its CDRs).
    ocpi: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    min_price_excl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    min_price_incl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    max_price_excl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    max_price_incl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    start_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="own")


class LocationRow(Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("party_pk", "location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    location_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    address: Mapped[str] = mapped_column(String(45))
    city: Mapped[str] = mapped_column(String(45))
    postal_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    country: Mapped[str] = mapped_column(String(3))  # ISO 3166-1 alpha-3, as OCPI wants
    latitude: Mapped[str] = mapped_column(String(10))
    longitude: Mapped[str] = mapped_column(String(11))
    time_zone: Mapped[str] = mapped_column(String(255), default="Europe/Riga")
    publish: Mapped[bool] = mapped_column(Boolean, default=True)
    tariff_pk: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"), nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    evses: Mapped[list[EvseRow]] = relationship(
        back_populates="location", lazy="selectin", order_by="EvseRow.id"
    )


class StationRow(Base):
    """An OCPP charging station (charge box) identified by the id in its WebSocket URL."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    location_pk: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), nullable=True)
    vendor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    serial_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    firmware_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ocpp_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    registration_status: Mapped[str] = mapped_column(String(16), default="Accepted")
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_boot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Access and vend modes, health, vendor profile (issue 3; migration 0005).
    access_mode: Mapped[str] = mapped_column(String(16), default="PUBLIC")  # PUBLIC | PRIVATE
    allowed_groups: Mapped[list[str]] = mapped_column(JSON, default=list)  # TokenRow.group_id
    access_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    free_vend_id_tag: Mapped[str | None] = mapped_column(String(36), nullable=True)
    idle_stop_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vendor_profile: Mapped[str | None] = mapped_column(String(32), nullable=True)
    health_state: Mapped[str] = mapped_column(String(24), default="HEALTHY")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvseRow(Base):
    __tablename__ = "evses"
    __table_args__ = (UniqueConstraint("location_pk", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_pk: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    uid: Mapped[str] = mapped_column(String(36))
    evse_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="UNKNOWN")
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id"), nullable=True)
    ocpp_connector_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    location: Mapped[LocationRow] = relationship(back_populates="evses")
    connectors: Mapped[list[ConnectorRow]] = relationship(
        back_populates="evse", lazy="selectin", order_by="ConnectorRow.id"
    )


class ConnectorRow(Base):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("evse_pk", "connector_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evse_pk: Mapped[int] = mapped_column(ForeignKey("evses.id"), index=True)
    connector_id: Mapped[str] = mapped_column(String(36))
    standard: Mapped[str] = mapped_column(String(32), default="IEC_62196_T2")
    format: Mapped[str] = mapped_column(String(16), default="SOCKET")
    power_type: Mapped[str] = mapped_column(String(16), default="AC_3_PHASE")
    max_voltage: Mapped[int] = mapped_column(Integer, default=230)
    max_amperage: Mapped[int] = mapped_column(Integer, default=32)
    max_electric_power: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    evse: Mapped[EvseRow] = relationship(back_populates="connectors")


class StationStatusRow(Base):
    """Every StatusNotification, kept as history."""

    __tablename__ = "station_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"), index=True)
    ocpp_connector_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    info: Mapped[str | None] = mapped_column(String(255), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenRow(Base):
    """A token (RFID, app, ...) issued by an eMSP: ours, or pushed to us by a partner."""

    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("party_pk", "uid", "type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    uid: Mapped[str] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(16), default="RFID")
    contract_id: Mapped[str] = mapped_column(String(36))
    visual_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issuer: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    whitelist: Mapped[str] = mapped_column(String(16), default="ALLOWED")
    language: Mapped[str | None] = mapped_column(String(2), nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChargingSessionRow(Base):
    """A charging session: ours (from OCPP) or a partner CPO's (received over OCPI).

    For our own sessions the integer key is also the OCPP 1.6 ``transactionId``.
    """

    __tablename__ = "charging_sessions"
    __table_args__ = (UniqueConstraint("cpo_party_pk", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36))
    cpo_party_pk: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    emsp_party_pk: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), nullable=True)
    token_uid: Mapped[str] = mapped_column(String(36))
    token_type: Mapped[str] = mapped_column(String(16), default="RFID")
    contract_id: Mapped[str] = mapped_column(String(36), default="")
    auth_method: Mapped[str] = mapped_column(String(16), default="WHITELIST")
    authorization_reference: Mapped[str | None] = mapped_column(String(36), nullable=True)
    location_pk: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), nullable=True)
    evse_pk: Mapped[int | None] = mapped_column(ForeignKey("evses.id"), nullable=True)
    connector_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    station_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    ocpp_connector_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # OCPP 2.0.1 transactionId (a station-chosen string; 1.6 uses our integer key instead).
    ocpp_transaction_ref: Mapped[str | None] = mapped_column(String(64), nullable=True,
                                                             index=True)
    meter_start: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)  # Wh
    meter_stop: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)  # Wh
    kwh: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    start_date_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    stop_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total_cost_excl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    total_cost_incl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class MeterValueRow(Base):
    __tablename__ = "meter_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_pk: Mapped[int] = mapped_column(ForeignKey("charging_sessions.id"), index=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    measurand: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    unit: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str | None] = mapped_column(String(8), nullable=True)
    context: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CdrRow(Base):
    """A charge detail record: immutable once written; corrections are credit CDRs."""

    __tablename__ = "cdrs"
    __table_args__ = (UniqueConstraint("cpo_party_pk", "cdr_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cdr_id: Mapped[str] = mapped_column(String(39))
    cpo_party_pk: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    emsp_party_pk: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), nullable=True)
    session_pk: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id"), nullable=True, unique=True
    )
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="own")  # own | received
    received_from_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id"), nullable=True
    )
    start_date_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_date_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    token_uid: Mapped[str] = mapped_column(String(36))
    token_type: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[str] = mapped_column(String(36))
    auth_method: Mapped[str] = mapped_column(String(16))
    authorization_reference: Mapped[str | None] = mapped_column(String(36), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_energy: Mapped[Decimal] = mapped_column(ExactDecimal)  # kWh
    total_time: Mapped[Decimal] = mapped_column(ExactDecimal)  # hours
    total_parking_time: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    total_cost_excl_vat: Mapped[Decimal] = mapped_column(ExactDecimal)
    total_cost_incl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    vat_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)  # percent
    vat_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    location: Mapped[dict[str, Any]] = mapped_column(JSON)  # OCPI CdrLocation snapshot
    tariffs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    charging_periods: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    credit: Mapped[bool] = mapped_column(Boolean, default=False)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxRow(Base):
    """A message that must reach one recipient; written in the same transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True, index=True
    )
    subject: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# Sections below are appended by area; keep each area's models under its own heading.
# --- models: OCPP 2.0.1 (issue 3) ---


class RemoteStartRow(Base):
    """An OCPP 2.0.1 RequestStartTransaction and the transaction it led to (``remoteStartId``,
    OCPP 2.0.1 part 2 F01/F02): kept so the TransactionEvent carrying that id is tied to the
    request, even across a reconnect."""

    __tablename__ = "ocpp_remote_starts"
    __table_args__ = (UniqueConstraint("station_id", "remote_start_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"), index=True)
    remote_start_id: Mapped[int] = mapped_column(Integer)
    evse_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    id_token: Mapped[str] = mapped_column(String(36))
    # Requested -> Accepted | Rejected (station's answer) -> Started (transaction seen).
    status: Mapped[str] = mapped_column(String(16), default="Requested")
    transaction_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_pk: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id"), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

# --- models: OCPP security, PKI (issue 3) ---


class SecurityEventRow(Base):
    """A SecurityEventNotification (OCPP 1.6 security whitepaper, section 4.3 / appendix 1)."""

    __tablename__ = "ocpp_security_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(50), index=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    tech_info: Mapped[str | None] = mapped_column(String(255), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IssuedCertificateRow(Base):
    """A certificate our CA issued (station certificates; kind "station")."""

    __tablename__ = "pki_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)  # lower-case hex
    kind: Mapped[str] = mapped_column(String(16))
    station_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    subject: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(255))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RevokedSerialRow(Base):
    """A revoked certificate serial: refused at connect (before the WebSocket upgrade)."""

    __tablename__ = "pki_revoked_serials"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)  # lower-case hex
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignedFirmwareUpdateRow(Base):
    """A SignedUpdateFirmware request and the last SignedFirmwareStatusNotification for it."""

    __tablename__ = "ocpp_signed_firmware_updates"
    __table_args__ = (UniqueConstraint("station_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- models: OCPP operations (issue 3) ---


class OcppStationOpsRow(Base):
    """Per-station operations state: local auth list version, last firmware/diagnostics status."""

    __tablename__ = "ocpp_station_ops"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    local_list_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    local_list_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    firmware_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    firmware_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    diagnostics_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    diagnostics_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OcppRemoteStartRow(Base):
    """A RemoteStartTransaction we sent; ``session_pk`` links the StartTransaction that followed
    (OCPP 1.6 has no id for this: same connector + idTag within a time window)."""

    __tablename__ = "ocpp16_remote_starts"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    connector_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    id_tag: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))  # Accepted | Rejected
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    session_pk: Mapped[int | None] = mapped_column(
        ForeignKey("charging_sessions.id"), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OcppReservationRow(Base):
    """A reservation sent with ReserveNow; the integer key is the OCPP ``reservationId``."""

    __tablename__ = "ocpp_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    connector_id: Mapped[int] = mapped_column(Integer)
    id_tag: Mapped[str] = mapped_column(String(36))
    parent_id_tag: Mapped[str | None] = mapped_column(String(36), nullable=True)
    expiry_date: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Requested | Accepted | Faulted | Occupied | Rejected | Unavailable | Cancelled | Used
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="admin")  # admin | ocpi
    session_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OcppFirmwareCampaignRow(Base):
    """UpdateFirmware to every station of one vendor (and model, if given)."""

    __tablename__ = "ocpp_firmware_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    location: Mapped[str] = mapped_column(Text)
    retrieve_date: Mapped[datetime] = mapped_column(UTCDateTime)
    retries: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retry_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OcppFirmwareTargetRow(Base):
    """One station of a firmware campaign and its last FirmwareStatusNotification."""

    __tablename__ = "ocpp_firmware_targets"
    __table_args__ = (UniqueConstraint("campaign_id", "station_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("ocpp_firmware_campaigns.id", ondelete="CASCADE"), index=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    # NotConnected | Sent | SendFailed | Downloading | Downloaded | DownloadFailed | Installing
    # | Installed | InstallationFailed | Idle
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OcppUploadRow(Base):
    """A one-time upload slot (GetDiagnostics location); only the token's hash is stored."""

    __tablename__ = "ocpp_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="diagnostics")
    status: Mapped[str] = mapped_column(String(16))  # Waiting | Uploaded | Failed
    station_file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

# --- models: monitoring, alarms, access, vendors (issue 3) ---


class AlarmRow(Base):
    """An operator alarm (offline, faulted, reset_failed, firmware_failed, security_event).

    De-duplicated: at most one ACTIVE alarm per (kind, subject), enforced by ``active_key``
    (``kind:subject`` while active, NULL once cleared); a repeat raises ``count``.
    """

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(128))
    station_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    active_key: Mapped[str | None] = mapped_column(String(170), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- models: tariffs and price models (issue 4) ---


class RoamingAgreementRow(Base):
    """Per partner: the tolerance when re-pricing its CDRs, and the time zone its tariffs'
    restrictions are read in when the CDR does not tell (OCPI CdrLocation has no time zone)."""

    __tablename__ = "roaming_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), unique=True)
    tolerance: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal("0.01"))
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CdrRepricingRow(Base):
    """The last re-pricing of a received CDR under the partner's published tariff."""

    __tablename__ = "cdr_repricings"

    id: Mapped[int] = mapped_column(primary_key=True)
    cdr_pk: Mapped[int] = mapped_column(ForeignKey("cdrs.id", ondelete="CASCADE"), unique=True)
    tariff_pk: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"), nullable=True)
    tariff_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # OK | OUTSIDE_TOLERANCE | NO_TARIFF | ERROR
    status: Mapped[str] = mapped_column(String(24), index=True)
    tolerance: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    claimed_excl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    computed_excl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    claimed_incl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    computed_incl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    difference_excl_vat: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    repriced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriceModelRow(Base):
    """A contract-level price model (clearing.models) kept as JSON, editable by the admin."""

    __tablename__ = "price_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



class PriceModelLinkRow(Base):
    """Where a price model applies (migration 0007): ``scope`` LOCATION (our location_id),
    STATION (station id), GROUP (token group_id) or CONTRACT (token contract_id), and the
    ``target`` id. One model per target; the most specific link wins for a session
    (CONTRACT > GROUP > STATION > LOCATION, hub.services.price_links)."""

    __tablename__ = "price_model_links"
    __table_args__ = (UniqueConstraint("scope", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_pk: Mapped[int] = mapped_column(
        ForeignKey("price_models.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- models: OCPI journal and agreements (issue 5) ---


class OcpiJournalRow(Base):
    """One leg of an OCPI exchange (ocpi.journal): never a token, never a body."""

    __tablename__ = "ocpi_journal"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    partner_id: Mapped[int | None] = mapped_column(nullable=True, index=True)
    module: Mapped[str | None] = mapped_column(String(32), nullable=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))  # route template / URL path, no token uids
    http_status: Mapped[int | None] = mapped_column(nullable=True)
    status_code: Mapped[int | None] = mapped_column(nullable=True)
    latency_ms: Mapped[int] = mapped_column(default=0)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    deviations: Mapped[str | None] = mapped_column(String(255), nullable=True)


class OcpiAgreementRow(Base):
    """Roaming agreement: may this partner use this OCPI module (no row = allowed)."""

    __tablename__ = "ocpi_agreements"
    __table_args__ = (UniqueConstraint("partner_id", "module"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(32))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)


class OcpiPartnerStateRow(Base):
    """Hub view of a partner: the status last announced with HubClientInfo."""

    __tablename__ = "ocpi_partner_state"

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    announced_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- models: OCPI partner objects (issue 5) ---


class OcpiPartnerLocationRow(Base):
    """A partner CPO's Location as pushed to our eMSP (OCPI mod_locations, Receiver): the full
    OCPI JSON text with its EVSEs and Connectors inside (text keeps every number exact)."""

    __tablename__ = "ocpi_partner_locations"
    __table_args__ = (UniqueConstraint("party_pk", "location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_pk: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    location_id: Mapped[str] = mapped_column(String(36))
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), nullable=True, index=True)
    body: Mapped[str] = mapped_column(Text)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OcpiQualityFindingRow(Base):
    """A data-quality finding on an object a partner pushed (ocpi.quality, migration 0014);
    an object's findings are replaced each time it is checked again."""

    __tablename__ = "ocpi_quality_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    module: Mapped[str] = mapped_column(String(16))
    object_key: Mapped[str] = mapped_column(String(96), index=True)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True, index=True)
    code: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(String(512))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)

class OcpiPushWatermarkRow(Base):
    """Up to which ``last_updated`` our own locations/tariffs were queued for a partner's
    Receiver (ocpi.push_own, migration 0015). Not advanced while the partner is not CONNECTED:
    when it is back, everything changed since is pushed once (the re-sync)."""

    __tablename__ = "ocpi_push_watermarks"

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    module: Mapped[str] = mapped_column(String(16), primary_key=True)
    watermark: Mapped[datetime] = mapped_column(UTCDateTime)
    resync_pending: Mapped[bool] = mapped_column(Boolean, default=False)

# --- models kept in their own modules, registered here (issues 5 and 6) ---
from hub.db import models_clearing, models_clearing_ref  # noqa: E402, F401, I001
from hub.db import models_ocpi_commands, models_ocpi_routing  # noqa: E402, F401
