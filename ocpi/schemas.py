"""OCPI 2.2.1 wire models (pydantic). Field lengths follow the spec so that a value too long
for our columns is a 2001 answer, not a database error. Unknown fields from peers are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _utc(value: datetime) -> datetime:
    # OCPI 2.2.1 types (DateTime): "The absence of the timezone designator implies UTC".
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


DateTime = Annotated[datetime, AfterValidator(_utc)]
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2)]
PartyId = Annotated[str, StringConstraints(min_length=3, max_length=3)]
CiString36 = Annotated[str, StringConstraints(min_length=1, max_length=36)]
CiString39 = Annotated[str, StringConstraints(min_length=1, max_length=39)]
String64 = Annotated[str, StringConstraints(max_length=64)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3)]
# credentials (Credentials object): printable non-whitespace ASCII, at most 64 characters.
CredentialsToken = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,64}$")]


class OcpiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- versions and credentials ------------------------------------------------------------------


class Version(OcpiModel):
    version: str
    url: str


class Endpoint(OcpiModel):
    identifier: str
    role: str = "SENDER"  # credentials: "the role field has no function for this module"
    url: str


class VersionDetails(OcpiModel):
    version: str
    endpoints: list[Endpoint]


class BusinessDetails(OcpiModel):
    name: Annotated[str, StringConstraints(max_length=100)]
    website: str | None = None
    logo: dict[str, Any] | None = None


class CredentialsRole(OcpiModel):
    role: Literal["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"]
    business_details: BusinessDetails
    party_id: PartyId
    country_code: CountryCode


class Credentials(OcpiModel):
    token: CredentialsToken
    url: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    roles: list[CredentialsRole] = Field(min_length=1)


# -- tokens ------------------------------------------------------------------------------------

TokenType = Literal["AD_HOC_USER", "APP_USER", "OTHER", "RFID"]
WhitelistType = Literal["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"]
AllowedType = Literal["ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"]


class Token(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    uid: CiString36
    type: TokenType
    contract_id: CiString36
    visual_number: String64 | None = None
    issuer: String64
    group_id: CiString36 | None = None
    valid: bool
    whitelist: WhitelistType
    language: Annotated[str, StringConstraints(max_length=2)] | None = None
    default_profile_type: str | None = None
    energy_contract: dict[str, Any] | None = None
    last_updated: DateTime


class LocationReferences(OcpiModel):
    location_id: CiString36
    evse_uids: list[CiString36] = Field(default_factory=list)


class DisplayText(OcpiModel):
    language: str
    text: Annotated[str, StringConstraints(max_length=512)]


class AuthorizationInfo(OcpiModel):
    allowed: AllowedType
    token: Token | None = None  # required by the spec; tolerated missing (we fall back)
    location: LocationReferences | None = None
    authorization_reference: CiString36 | None = None
    info: DisplayText | None = None


# -- sessions and CDRs -------------------------------------------------------------------------


class CdrToken(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    uid: CiString36
    type: TokenType
    contract_id: CiString36


class Price(OcpiModel):
    excl_vat: Decimal
    incl_vat: Decimal | None = None


class CdrDimension(OcpiModel):
    type: str
    volume: Decimal


class ChargingPeriod(OcpiModel):
    start_date_time: DateTime
    dimensions: list[CdrDimension] = Field(min_length=1)
    tariff_id: CiString36 | None = None


AuthMethod = Literal["AUTH_REQUEST", "COMMAND", "WHITELIST"]
SessionStatus = Literal["ACTIVE", "COMPLETED", "INVALID", "PENDING", "RESERVATION"]


class Session(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Decimal
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36
    meter_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    currency: Currency
    charging_periods: list[ChargingPeriod] = Field(default_factory=list)
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: DateTime


class GeoLocation(OcpiModel):
    latitude: Annotated[str, StringConstraints(max_length=10)]
    longitude: Annotated[str, StringConstraints(max_length=11)]


class CdrLocation(OcpiModel):
    id: CiString36
    name: str | None = None
    address: Annotated[str, StringConstraints(max_length=45)]
    city: Annotated[str, StringConstraints(max_length=45)]
    postal_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    state: str | None = None
    country: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    coordinates: GeoLocation
    evse_uid: CiString36
    evse_id: Annotated[str, StringConstraints(max_length=48)]
    connector_id: CiString36
    connector_standard: str
    connector_format: str
    connector_power_type: str


class Cdr(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString39
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: CiString36 | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    cdr_location: CdrLocation
    meter_id: str | None = None
    currency: Currency
    tariffs: list[dict[str, Any]] = Field(default_factory=list)
    charging_periods: list[ChargingPeriod] = Field(min_length=1)
    signed_data: dict[str, Any] | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Decimal
    total_energy_cost: Price | None = None
    total_time: Decimal
    total_time_cost: Price | None = None
    total_parking_time: Decimal | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: Annotated[str, StringConstraints(max_length=255)] | None = None
    invoice_reference_id: CiString39 | None = None
    credit: bool | None = None
    credit_reference_id: CiString39 | None = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime
