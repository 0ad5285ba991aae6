"""The one internal model. Plain, immutable values; every protocol maps to and from these.

Money and energy are ``Decimal``; every datetime is timezone-aware UTC.
"""

from hub.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PartnerUnavailable,
    Unauthorized,
)
from hub.domain.values import (
    AllowedType,
    AuthorizationResult,
    Cdr,
    CdrPrice,
    ChargingPeriod,
    ChargingSession,
    Connector,
    Evse,
    Location,
    LocationFacts,
    PartyRef,
    PriceComponent,
    PriceLine,
    PriceModelRef,
    SessionFacts,
    Tariff,
    TariffElement,
    TariffPrice,
    TokenInfo,
)

__all__ = [
    "AllowedType",
    "AuthorizationResult",
    "Cdr",
    "CdrPrice",
    "ChargingPeriod",
    "ChargingSession",
    "Conflict",
    "Connector",
    "DomainError",
    "Evse",
    "Forbidden",
    "InvalidInput",
    "Location",
    "LocationFacts",
    "NotFound",
    "PartnerUnavailable",
    "PartyRef",
    "PriceComponent",
    "PriceLine",
    "PriceModelRef",
    "SessionFacts",
    "Tariff",
    "TariffElement",
    "TariffPrice",
    "TokenInfo",
    "Unauthorized",
]
