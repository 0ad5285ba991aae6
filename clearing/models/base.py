"""Price models beyond OCPI tariffs: shared values and helpers (pure, Decimal, no clock).

A model is a frozen dataclass (its data, stored as JSON by the admin API), a pure pricing
function and ``to_ocpi_tariff()``: the closest OCPI 2.2.1 tariff for roaming partners, with
``tariff_alt_text`` saying what OCPI cannot express.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from clearing.money import DEFAULT_POLICY
from clearing.tariffs.currencies import is_currency
from clearing.tariffs.parse import _time_at, datetime_at, decimal_at
from clearing.tariffs.sessions import hours_between
from hub.domain import InvalidInput

ZERO = Decimal(0)
M = TypeVar("M", bound="PriceModel")


@dataclass(frozen=True, slots=True)
class ModelLine:
    label: str
    volume: Decimal
    unit: str
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.volume * self.unit_price


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Lines exact; totals rounded once (half-up to the currency's minor unit)."""

    currency: str
    lines: tuple[ModelLine, ...]
    vat: Decimal  # percent
    total_excl_vat: Decimal
    total_incl_vat: Decimal
    notes: tuple[str, ...] = ()


def priced(currency: str, vat: Decimal | None, lines: list[ModelLine], *notes: str
           ) -> ModelPrice:
    """``vat`` None: no VAT stated by the model (0 here; for our own sessions the adapter
    gives the model the charging country's rate first, see clearing.models.sessions)."""
    vat = vat or ZERO
    kept = tuple(ln for ln in lines if ln.volume)
    excl = DEFAULT_POLICY.total(sum((ln.amount for ln in kept), ZERO), currency)
    incl = excl + DEFAULT_POLICY.total(excl * vat / 100, currency)
    return ModelPrice(currency, kept, vat, excl, incl, tuple(notes))


@dataclass(frozen=True, slots=True)
class SessionInput:
    """One charging session as the contract-level models see it."""

    start: datetime
    end: datetime  # unplugged
    kwh: Decimal
    full_at: datetime | None = None  # charging ended (car full); None: at ``end``
    token_group: str | None = None
    private: bool = False  # the owner's private use (fixed owner price)
    registered: bool = True  # False: an ad-hoc user without a contract (ad-hoc surcharge)
    voucher: bool | None = None  # a voucher/ticket presented (None: the model decides)
    voucher_redeemed: Decimal = ZERO  # already redeemed on the same ticket (per-ticket limit)

    @property
    def hours(self) -> Decimal:
        return hours_between(self.start, self.end)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionInput:
        start = datetime_at(data.get("start_date_time"), "session.start_date_time")
        end = datetime_at(data.get("end_date_time"), "session.end_date_time")
        full = data.get("charging_end_date_time")
        full_at = None if full is None else datetime_at(full, "session.charging_end_date_time")
        if end < start or (full_at is not None and not start <= full_at <= end):
            raise InvalidInput("session.end_date_time: the session's instants are out of order")
        voucher = data.get("voucher")
        if voucher is not None and not isinstance(voucher, bool):
            raise InvalidInput("session.voucher: must be true or false")
        return cls(start, end, decimal_at(data.get("kwh"), "session.kwh"), full_at,
                   data.get("token_group"), bool(data.get("private", False)),
                   bool(data.get("registered", True)), voucher,
                   decimal_at(data.get("voucher_redeemed", 0), "session.voucher_redeemed"))


class PriceModel:
    """Mixin: JSON (de)serialisation by field type, validated, naming the field."""

    kind: ClassVar[str]

    @classmethod
    def from_json(cls: type[M], data: dict[str, Any]) -> M:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            raw, kind = data.get(f.name), str(f.type)
            if raw is None:
                if f.default is dataclasses.MISSING and \
                        f.default_factory is dataclasses.MISSING:
                    raise InvalidInput(f"{f.name}: is required")
                continue
            values[f.name] = _value(raw, kind, f.name)
        model = cls(**values)
        model.check()
        return model

    def check(self) -> None:
        """Cross-field validation (override)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, dict):
                value = {k: format(v, "f") for k, v in value.items()}
            elif isinstance(value, Decimal):
                value = format(value, "f")
            out[f.name] = value
        return out


def _value(raw: Any, kind: str, name: str) -> Any:
    if kind.startswith("Decimal"):
        return decimal_at(raw, name)
    if kind.startswith("int"):
        number = decimal_at(raw, name)
        if number != number.to_integral_value():
            raise InvalidInput(f"{name}: must be a whole number")
        return int(number)
    if kind.startswith("bool"):
        if not isinstance(raw, bool):
            raise InvalidInput(f"{name}: must be true or false")
        return raw
    if kind.startswith("dict"):
        if not isinstance(raw, dict) or not raw:
            raise InvalidInput(f"{name}: must be a non-empty object")
        return {str(k): decimal_at(v, f"{name}.{k}") for k, v in raw.items()}
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(f"{name}: must be a non-empty string")
    if name.endswith("_time"):
        _time_at(raw, name)
    if name == "currency" and not is_currency(raw):
        raise InvalidInput(f"currency: unknown ISO 4217 currency {raw!r}")
    return raw


def component(kind: str, price: Decimal, step: int = 1) -> dict[str, Any]:
    return {"type": kind, "price": price, "step_size": step}


def ocpi_tariff(country_code: str, party_id: str, tariff_id: str, currency: str,
                elements: list[dict[str, Any]], alt_text: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"country_code": country_code, "party_id": party_id,
                           "id": tariff_id, "currency": currency, "elements": elements}
    if alt_text:
        out["tariff_alt_text"] = [{"language": "en", "text": " ".join(alt_text)}]
    return out
