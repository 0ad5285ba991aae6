"""Contract-level price models beside the OCPI tariff engine (issue 4 item 5; docs/tariffs.md,
"Price models"). ``parse_model(data)`` builds one from its JSON (``kind`` + fields)."""

from __future__ import annotations

from typing import Any

from clearing.models.base import ModelLine, ModelPrice, PriceModel, SessionInput
from clearing.models.cooperative import Allocation, CostPrice, MeterInvoice, PayerShare
from clearing.models.period import AnnualBlocks, Subscription
from clearing.models.service import AdHocSurcharge, Voucher
from clearing.models.session import Hotel, OwnerFixed, PriceGroups, StartHourlyKwh
from hub.domain import InvalidInput

SESSION_MODELS: dict[str, type[Any]] = {
    m.kind: m for m in (StartHourlyKwh, Hotel, OwnerFixed, PriceGroups, Voucher,
                        AdHocSurcharge)}
PERIOD_MODELS: dict[str, type[Any]] = {
    m.kind: m for m in (Subscription, AnnualBlocks, CostPrice)}
KINDS = {**SESSION_MODELS, **PERIOD_MODELS}


def parse_model(data: object) -> Any:
    if not isinstance(data, dict):
        raise InvalidInput("model: must be a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"kind: must be one of {', '.join(sorted(KINDS))}, got {kind!r}")
    return KINDS[kind].from_json(data)


__all__ = ["KINDS", "PERIOD_MODELS", "SESSION_MODELS", "AdHocSurcharge", "Allocation",
           "AnnualBlocks", "CostPrice", "Hotel", "MeterInvoice", "ModelLine", "ModelPrice",
           "OwnerFixed", "PayerShare", "PriceGroups", "PriceModel", "SessionInput",
           "StartHourlyKwh", "Subscription", "Voucher", "parse_model"]
