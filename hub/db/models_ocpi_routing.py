"""ORM models: OCPI hub routing between third parties (issue 5, migration 0011).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.

- ``OcpiProxyRow``: a URL of one partner's system that the hub handed to another partner in
  its own name (PROTOCOL_NOTES, OCPI: a forwarding hub rewrites command ``response_url``,
  pagination ``Link`` and CDR ``Location``): ``/ocpi/proxy/{proxy_id}`` maps to
  ``target_url`` until ``expires_at``. ``target_partner_id`` is whose token the hub presents
  when it calls the target; ``user_partner_id`` is the only partner allowed to use the proxy.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import UTCDateTime

__all__ = ["OcpiProxyRow"]


class OcpiProxyRow(Base):
    __tablename__ = "ocpi_proxy_urls"

    id: Mapped[int] = mapped_column(primary_key=True)
    proxy_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # response_url | link | location
    target_url: Mapped[str] = mapped_column(Text)
    target_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True, index=True)
    user_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
