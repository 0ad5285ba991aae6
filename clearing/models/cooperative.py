"""Cost-price pass-through for housing cooperatives: the period's meter invoice (energy,
network, taxes) shared out by kWh, so that the cooperative neither earns nor loses a cent.

``CostPrice.allocate(invoice, user_kwh, other_loads)`` is pure. Every payer (each charging
user, each other load on the same meter: laundry, stairwell lighting, ...) pays
``kWh x invoice component / invoice kWh`` for every component. The kWh the invoice bills
beyond the measured ones (losses, unmetered loads) go to ``common_payer``.

Rounding remainder rule (so that the shares add up to the invoice exactly, per component and
in total): per component, every payer's exact share is rounded *down* to the currency's minor
unit; the cents left over (fewer than the number of payers) go one each to the payers with
the largest discarded fraction; ties go to the payer with more kWh, then to the earlier one
(users in the order given, then other loads, then the common payer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, ClassVar

from clearing.models.base import ZERO, PriceModel, component, ocpi_tariff
from clearing.money import quantum
from clearing.tariffs.parse import decimal_at
from hub.domain import InvalidInput

USER, OTHER_LOAD, COMMON = "user", "other_load", "common"


@dataclass(frozen=True, slots=True)
class MeterInvoice:
    """The electricity invoice of one meter for one period: its kWh and its amounts per
    component (e.g. energy, network, taxes), as invoiced (taxes included)."""

    kwh: Decimal
    components: Mapping[str, Decimal]

    @classmethod
    def from_json(cls, data: object) -> MeterInvoice:
        if not isinstance(data, dict):
            raise InvalidInput("invoice: must be a JSON object")
        kwh = decimal_at(data.get("kwh"), "invoice.kwh")
        raw = data.get("components")
        if not isinstance(raw, dict) or not raw:
            raise InvalidInput("invoice.components: must be a non-empty object "
                               '(e.g. {"energy": 120.50, "network": 60, "taxes": 25.10})')
        return cls(kwh, {str(k): decimal_at(v, f"invoice.components.{k}")
                         for k, v in raw.items()})

    @property
    def total(self) -> Decimal:
        return sum(self.components.values(), ZERO)


@dataclass(frozen=True, slots=True)
class PayerShare:
    payer: str
    role: str  # user | other_load | common
    kwh: Decimal
    amounts: Mapping[str, Decimal]  # per invoice component, rounded to the minor unit

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


@dataclass(frozen=True, slots=True)
class Allocation:
    currency: str
    invoice_total: Decimal
    cost_per_kwh: Mapping[str, Decimal]  # per component, exact to 28 digits (for display)
    shares: tuple[PayerShare, ...]
    notes: tuple[str, ...] = ()

    def share(self, payer: str) -> PayerShare:
        for s in self.shares:
            if s.payer == payer:
                return s
        raise InvalidInput(f"payer: no share for {payer!r}")


@dataclass(frozen=True, slots=True)
class CostPrice(PriceModel):
    """Members pay the meter's actual cost per kWh; roaming partners see
    ``roaming_kwh_price`` (an estimate: the real cost is known when the invoice comes)."""

    kind: ClassVar[str] = "cost_price"
    currency: str
    roaming_kwh_price: Decimal
    common_payer: str = "cooperative"

    def allocate(self, invoice: MeterInvoice, user_kwh: Mapping[str, Decimal],
                 other_loads: Mapping[str, Decimal] | None = None) -> Allocation:
        payers = self._payers(invoice, user_kwh, other_loads or {})
        unit = quantum(self.currency)
        amounts: list[dict[str, Decimal]] = [{} for _ in payers]
        for name, amount in invoice.components.items():
            if amount != amount.quantize(unit):
                raise InvalidInput(f"invoice.components.{name}: more decimals than "
                                   f"{self.currency} has")
            for i, value in enumerate(_split(amount, [kwh for _, _, kwh in payers],
                                             invoice.kwh, unit)):
                amounts[i][name] = value
        per_kwh = {name: amount / invoice.kwh for name, amount in invoice.components.items()}
        shares = tuple(PayerShare(payer, role, kwh, amounts[i])
                       for i, (payer, role, kwh) in enumerate(payers))
        measured = sum((kwh for _, role, kwh in payers if role != COMMON), ZERO)
        return Allocation(self.currency, invoice.total, per_kwh, shares,
                          (f"invoice {invoice.kwh} kWh, measured {measured} kWh",))

    def _payers(self, invoice: MeterInvoice, user_kwh: Mapping[str, Decimal],
                other_loads: Mapping[str, Decimal]) -> list[tuple[str, str, Decimal]]:
        if invoice.kwh <= 0:
            raise InvalidInput("invoice.kwh: must be more than 0")
        payers: list[tuple[str, str, Decimal]] = []
        for field, role, kwhs in (("user_kwh", USER, user_kwh),
                                  ("other_loads", OTHER_LOAD, other_loads)):
            for name, kwh in kwhs.items():
                if any(p == name for p, _, _ in payers) or name == self.common_payer:
                    raise InvalidInput(f"{field}.{name}: the same payer twice")
                payers.append((name, role, decimal_at(kwh, f"{field}.{name}")))
        measured = sum((kwh for _, _, kwh in payers), ZERO)
        if measured > invoice.kwh:
            raise InvalidInput(f"user_kwh: the measured {measured} kWh exceed the invoice's "
                               f"{invoice.kwh} kWh")
        if measured < invoice.kwh:
            payers.append((self.common_payer, COMMON, invoice.kwh - measured))
        return payers

    def to_ocpi_tariff(self, cc: str, party: str, tariff_id: str) -> dict[str, Any]:
        return ocpi_tariff(cc, party, tariff_id, self.currency, [
            {"price_components": [component("ENERGY", self.roaming_kwh_price)]}],
            ["Members pay the meter's actual cost per kWh (energy, network, taxes from the "
             "period's invoice); guests pay the price shown."])


def _split(amount: Decimal, weights: list[Decimal], whole: Decimal, unit: Decimal
           ) -> list[Decimal]:
    """``amount`` shared by ``weights`` (summing to ``whole``), rounded down to ``unit``; the
    leftover units to the largest fractions (ties: larger weight, then earlier)."""
    exact = [amount * w / whole for w in weights]
    floors = [x.quantize(unit, rounding=ROUND_FLOOR) for x in exact]
    left = int((amount - sum(floors, ZERO)) / unit)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), -weights[i], i))
    for i in order[:left]:
        floors[i] += unit
    return floors
