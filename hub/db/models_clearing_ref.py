"""ORM models of clearing reference data (issue 6, migration 0012).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.

A *legal entity* is who issues and receives invoices and payments: a network operator, a
station owner, an electricity retailer, a DSO, a payment provider. Roaming parties (OCPI
``parties`` rows) belong to one legal entity each, so the ledger can net positions per pair of
entities while the CDRs stay per party.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import ExactDecimal, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class LegalEntityRow(Base):
    """A company or person that issues or receives invoices and payments."""

    __tablename__ = "legal_entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. "LV-BIM", "EE-ELM"
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    registration_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    street: Mapped[str | None] = mapped_column(String(255), nullable=True)
    city: Mapped[str | None] = mapped_column(String(128), nullable=True)
    postal_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    bic: Mapped[str | None] = mapped_column(String(11), nullable=True)
    peppol_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The currency the entity books and is paid in (EUR, SEK, NOK, DKK, PLN).
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # True for entities the hub's operator issues documents for (gapless numbering per issuer).
    is_own: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PartyEntityRow(Base):
    """Which legal entity a roaming party (``parties`` row) belongs to."""

    __tablename__ = "party_entities"

    party_pk: Mapped[int] = mapped_column(
        ForeignKey("parties.id", ondelete="CASCADE"), primary_key=True)
    entity_pk: Mapped[int] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="RESTRICT"), index=True)


# --- REF (issue 6 items 2-4): owners, FX rates, revenue split rules --------------------------


class OwnerAssignmentRow(Base):
    """Which legal entity owns a location or a station from ``valid_from`` on (the latest
    assignment at or before a date wins; a station's own assignment beats its location's)."""

    __tablename__ = "owner_assignments"
    __table_args__ = (UniqueConstraint("scope", "target_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # LOCATION | STATION
    target_id: Mapped[str] = mapped_column(String(64))  # OCPI location id / OCPP station id
    entity_pk: Mapped[int] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="RESTRICT"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)


class FxRateRow(Base):
    """A euro reference rate: 1 EUR = ``rate`` ``quote`` on ``rate_date`` (ECB or manual)."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("quote", "rate_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    base: Mapped[str] = mapped_column(String(3), default="EUR")
    quote: Mapped[str] = mapped_column(String(3))
    rate_date: Mapped[date] = mapped_column(Date, index=True)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    source: Mapped[str] = mapped_column(String(16), default="ECB")  # ECB | manual
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SplitRuleRow(Base):
    """One revenue split rule (clearing.split.SplitRule): data with effective dates, for all
    sessions or per owner, location or station."""

    __tablename__ = "split_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(24))
    entity_pk: Mapped[int] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="RESTRICT"), index=True)
    basis: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    percent: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    tax_rule: Mapped[str] = mapped_column(String(16))
    vat_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)  # exclusive
    scope: Mapped[str] = mapped_column(String(16), default="ALL")
    scope_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
