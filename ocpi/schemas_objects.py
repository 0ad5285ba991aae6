"""OCPI 2.2.1 wire models for Locations (with EVSEs and Connectors) and Tariffs.

Every field of the spec objects is declared, so a parsed object dumps back without loss
(``model_dump(exclude_none=True)``). The objects' own identifying and required fields are
typed; nested descriptive classes (Hours, EnergyMix, Image, BusinessDetails,
TariffRestrictions, ...) are kept as JSON objects, since we store and forward them unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from ocpi.schemas import (
    CiString36,
    CountryCode,
    Currency,
    DateTime,
    DisplayText,
    GeoLocation,
    OcpiModel,
    PartyId,
)

Json = dict[str, Any]
String255 = Annotated[str, StringConstraints(max_length=255)]

# -- locations (mod_locations: Location, EVSE, Connector objects) ------------------------------

EvseStatus = Literal["AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER",
                     "PLANNED", "REMOVED", "RESERVED", "UNKNOWN"]


class Connector(OcpiModel):
    id: CiString36
    standard: str
    format: Literal["SOCKET", "CABLE"]
    power_type: Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: str | None = None
    last_updated: DateTime


class Evse(OcpiModel):
    uid: CiString36
    evse_id: Annotated[str, StringConstraints(max_length=48)] | None = None
    status: EvseStatus
    status_schedule: list[Json] | None = None
    capabilities: list[str] | None = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: Annotated[str, StringConstraints(max_length=4)] | None = None
    coordinates: GeoLocation | None = None
    physical_reference: Annotated[str, StringConstraints(max_length=16)] | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[str] | None = None
    images: list[Json] | None = None
    last_updated: DateTime


class Location(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    publish: bool
    publish_allowed_to: list[Json] | None = None
    name: String255 | None = None
    address: String255
    city: Annotated[str, StringConstraints(max_length=45)]
    postal_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    state: Annotated[str, StringConstraints(max_length=45)] | None = None
    country: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    coordinates: GeoLocation
    related_locations: list[Json] | None = None
    parking_type: str | None = None
    evses: list[Evse] | None = None
    directions: list[DisplayText] | None = None
    operator: Json | None = None
    suboperator: Json | None = None
    owner: Json | None = None
    facilities: list[str] | None = None
    time_zone: String255
    opening_times: Json | None = None
    charging_when_closed: bool | None = None
    images: list[Json] | None = None
    energy_mix: Json | None = None
    last_updated: DateTime


# -- tariffs (mod_tariffs: Tariff object, TariffElement, PriceComponent) -----------------------


class PriceComponent(OcpiModel):
    type: Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
    price: Decimal
    vat: Decimal | None = None
    step_size: int


class TariffElement(OcpiModel):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: Json | None = None


class TariffPrice(OcpiModel):
    excl_vat: Decimal
    incl_vat: Decimal | None = None


class Tariff(OcpiModel):
    country_code: CountryCode
    party_id: PartyId
    id: CiString36
    currency: Currency
    type: Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN",
                  "REGULAR"] | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: str | None = None
    min_price: TariffPrice | None = None
    max_price: TariffPrice | None = None
    elements: list[TariffElement] = Field(min_length=1)
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: Json | None = None
    last_updated: DateTime
