"""ORM models of clearing reference data (issue 6, migration 0012).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.

A *legal entity* is who issues and receives invoices and payments: a network operator, a
station owner, an electricity retailer, a DSO, a payment provider. Roaming parties (OCPI
``parties`` rows) belong to one legal entity each, so the ledger can net positions per pair of
entities while the CDRs stay per party.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import UTCDateTime


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
