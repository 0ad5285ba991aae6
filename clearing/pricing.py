"""PLACEHOLDER: replaced by the pricing engine."""

from __future__ import annotations

from decimal import Decimal

from hub.domain import CdrPrice, SessionFacts, Tariff


def price_session(session: SessionFacts, tariff: Tariff | None) -> CdrPrice:
    hours = Decimal((session.end - session.start).total_seconds()) / 3600
    return CdrPrice("EUR", session.kwh, hours, Decimal(0), Decimal(0), Decimal(21), Decimal(0),
                    session.country_code)
