"""The OCPI 2.2.1 tariff as the engine sees it: validated, typed, immutable.

Spec: ocpi-2.2.1/mod_tariffs.asciidoc (Tariff object, TariffElement, PriceComponent,
TariffRestrictions) and mod_cdrs.asciidoc (ChargingPeriod, CdrDimension). Parsing and validation
live in ``clearing.tariffs.parse``; this module holds plain data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from hub.domain import InvalidInput

ENERGY, FLAT, TIME, PARKING_TIME = "ENERGY", "FLAT", "TIME", "PARKING_TIME"
DIMENSIONS = (FLAT, ENERGY, TIME, PARKING_TIME)
RESERVATION, RESERVATION_EXPIRES = "RESERVATION", "RESERVATION_EXPIRES"
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
TARIFF_TYPES = ("AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR")
ZERO = Decimal(0)


class TariffError(InvalidInput):
    """Bad tariff or usage input; ``field`` is the JSON path of the offending field."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path}: {problem}")
        self.field = field_path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Price:
    """OCPI Price class: ``incl_vat`` may be absent."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Restrictions:
    """TariffRestrictions, parsed. Times are minutes of the local day; ends are exclusive."""

    start_time: int | None = None
    end_time: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: frozenset[int] = frozenset()  # 0 = Monday (date.weekday())
    reservation: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == EMPTY_RESTRICTIONS


EMPTY_RESTRICTIONS = Restrictions()


@dataclass(frozen=True, slots=True)
class Component:
    """PriceComponent: ``price`` excl. VAT per unit (kWh, hour, session); ``vat`` percent or
    None ("no VAT applicable", which is not 0%); ``step_size`` in Wh or seconds."""

    type: str
    price: Decimal
    step_size: int = 1
    vat: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Element:
    components: tuple[Component, ...]
    restrictions: Restrictions = EMPTY_RESTRICTIONS


@dataclass(frozen=True, slots=True)
class OcpiTariff:
    country_code: str
    party_id: str
    id: str
    currency: str
    elements: tuple[Element, ...]
    type: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    last_updated: datetime | None = None
    alt_text: tuple[tuple[str, str], ...] = ()  # (language, text)

    def valid_at(self, moment: datetime) -> bool:
        """Validity window [start_date_time, end_date_time): a tariff ending at T is no
        longer the one accepted by a driver starting at T."""
        if self.start_date_time is not None and moment < self.start_date_time:
            return False
        return self.end_date_time is None or moment < self.end_date_time


@dataclass(frozen=True, slots=True)
class Period:
    """One charging period as priced: OCPI ChargingPeriod with the dimensions we use.

    Volumes: ``energy`` kWh, ``time``/``parking``/``reservation`` hours. Current (A) and power
    (kW) are optional; restrictions on them only match when the period states them (power is
    derived from energy / charging time when absent).
    """

    start: datetime
    energy: Decimal = ZERO
    time: Decimal = ZERO
    parking: Decimal = ZERO
    reservation: Decimal = ZERO
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    tariff_id: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """A session to price: its periods in order, all inside [start, end]."""

    start: datetime
    end: datetime
    periods: tuple[Period, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
