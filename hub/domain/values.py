"""Immutable domain values shared by the services, the edges and clearing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PartyRef:
    country_code: str
    party_id: str
    role: str

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id}"

    def same_party(self, country_code: str, party_id: str) -> bool:
        # Peers lower-case ids (PROTOCOL_NOTES, OCPI deviations): compare case-insensitively.
        return (
            self.country_code.upper() == country_code.upper()
            and self.party_id.upper() == party_id.upper()
        )


class AllowedType(StrEnum):
    """OCPI 2.2.1 mod_tokens AllowedType, used as our internal authorization verdict."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    owner: PartyRef
    uid: str
    type: str
    contract_id: str
    issuer: str
    valid: bool = True
    whitelist: str = "ALLOWED"
    visual_number: str | None = None
    group_id: str | None = None
    language: str | None = None
    last_updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    allowed: AllowedType
    token: TokenInfo | None = None
    authorization_reference: str | None = None
    info: str | None = None
    # How we decided: "local" (our token or a pushed whitelist entry), "realtime" (asked the
    # eMSP), "unknown" (nobody knows the token).
    source: str = "local"

    @property
    def is_allowed(self) -> bool:
        return self.allowed is AllowedType.ALLOWED


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """OCPI 2.2.1 mod_tariffs PriceComponent. ``price`` excludes VAT; ``vat`` is a percent."""

    type: str  # ENERGY | FLAT | TIME | PARKING_TIME
    price: Decimal
    step_size: int = 1
    vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class TariffPrice:
    """OCPI 2.2.1 Price class (a tariff's min_price / max_price): ``incl_vat`` optional."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Tariff:
    owner: PartyRef
    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    alt_text: str | None = None
    last_updated: datetime | None = None
    type: str | None = None  # OCPI TariffType
    min_price: TariffPrice | None = None
    max_price: TariffPrice | None = None
    start_date_time: datetime | None = None  # validity [start, end)
    end_date_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class LocationFacts:
    """What pricing and CDRs need to know about where a session happened."""

    location_id: str
    name: str | None
    address: str
    city: str
    postal_code: str | None
    country: str  # alpha-3 (OCPI)
    country_code: str  # alpha-2: the charging country, decides the VAT
    latitude: str
    longitude: str
    time_zone: str
    evse_uid: str
    evse_id: str | None
    connector_id: str
    connector_standard: str
    connector_format: str
    connector_power_type: str


@dataclass(frozen=True, slots=True)
class PriceModelRef:
    """A contract-level price model (issue 4) attached where a session happened or to its
    token: ``data`` is the stored model JSON (clearing.models), ``scope`` says which link
    applied (CONTRACT, GROUP, STATION or LOCATION)."""

    id: str
    data: dict[str, object]
    scope: str
    target: str


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """A finished session, as clearing prices it: no database, no clock."""

    session_id: str
    start: datetime
    end: datetime
    kwh: Decimal
    country_code: str
    time_zone: str = "UTC"
    # Contract-level pricing (issue 4): a price model that applies replaces the tariff.
    price_model: PriceModelRef | None = None
    token_group: str | None = None
    registered: bool = True  # False: no known contract (ad-hoc user)
    charging_end: datetime | None = None  # when energy stopped flowing (car full), if known


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    start_date_time: datetime
    dimensions: tuple[tuple[str, Decimal], ...]  # (OCPI CdrDimensionType, volume)
    tariff_id: str | None = None


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One line of a price explanation: which component priced which volume."""

    component: str  # ENERGY | FLAT | TIME | PARKING_TIME
    volume: Decimal
    unit: str  # kWh | session | h
    unit_price: Decimal
    amount_excl_vat: Decimal
    vat_rate: Decimal
    note: str = ""


@dataclass(frozen=True, slots=True)
class CdrPrice:
    currency: str
    total_energy: Decimal
    total_time: Decimal  # hours
    total_cost_excl_vat: Decimal
    total_cost_incl_vat: Decimal
    vat_rate: Decimal  # percent, e.g. 21
    vat_amount: Decimal
    vat_country: str
    lines: tuple[PriceLine, ...] = field(default_factory=tuple)
    periods: tuple[ChargingPeriod, ...] = field(default_factory=tuple)
    total_energy_cost: Decimal | None = None
    total_fixed_cost: Decimal | None = None
    total_time_cost: Decimal | None = None
    price_model_id: str | None = None  # priced by this price model, not by the tariff


@dataclass(frozen=True, slots=True)
class Connector:
    id: str
    standard: str
    format: str
    power_type: str
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None
    tariff_ids: tuple[str, ...]
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class Evse:
    uid: str
    evse_id: str | None
    status: str  # OCPI Status: AVAILABLE, CHARGING, ...
    connectors: tuple[Connector, ...]
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class Location:
    owner: PartyRef
    id: str
    publish: bool
    name: str | None
    address: str
    city: str
    postal_code: str | None
    country: str  # alpha-3
    latitude: str
    longitude: str
    time_zone: str
    evses: tuple[Evse, ...]
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """OCPI-compatible session: ours (from OCPP) or a partner CPO's."""

    cpo: PartyRef
    id: str
    start_date_time: datetime
    end_date_time: datetime | None
    kwh: Decimal
    token_uid: str
    token_type: str
    contract_id: str
    token_owner: PartyRef | None
    auth_method: str
    authorization_reference: str | None
    location_id: str | None
    evse_uid: str | None
    connector_id: str | None
    currency: str
    status: str  # ACTIVE | COMPLETED | INVALID | PENDING | RESERVATION
    total_cost_excl_vat: Decimal | None
    total_cost_incl_vat: Decimal | None
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class Cdr:
    """A charge detail record (OCPI 2.2.1 mod_cdrs), ours or received from a partner CPO.

    ``location`` is the CdrLocation snapshot; ``charging_periods`` and ``tariffs`` keep the
    OCPI shape with Decimals as strings, so a received CDR can be shown exactly as sent.
    """

    cpo: PartyRef
    id: str
    start_date_time: datetime
    end_date_time: datetime
    session_id: str | None
    token_uid: str
    token_type: str
    contract_id: str
    token_owner: PartyRef | None
    auth_method: str
    authorization_reference: str | None
    location: dict[str, object]
    currency: str
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal | None
    total_cost_excl_vat: Decimal
    total_cost_incl_vat: Decimal | None
    charging_periods: tuple[dict[str, object], ...]
    tariffs: tuple[dict[str, object], ...] = ()
    vat_rate: Decimal | None = None
    vat_country: str | None = None
    breakdown: tuple[dict[str, object], ...] = ()
    credit: bool = False
    last_updated: datetime | None = None
    credit_reference_id: str | None = None  # a credit CDR: the id of the CDR it credits
