"""Our own sessions priced by an attached price model (contract-level pricing, issue 4):
``SessionFacts`` (with its ``price_model``) -> ``SessionInput`` -> ``ModelPrice`` -> the
kernel's ``CdrPrice``. Pure; called by ``clearing.pricing.price_session`` (the CdrPricer).

- Only per-session models price a session (``SESSION_MODELS``); a period model (subscription,
  annual blocks, cost price) attached to a session's scope is refused here with a message and
  the caller falls back to the tariff.
- A model without its own ``vat`` takes the charging country's rate (like tariff components
  without ``vat``).
- ``owner_fixed``: the private price for tokens in the group ``private`` (case-insensitive).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from clearing.models import SESSION_MODELS, ModelPrice, SessionInput, parse_model
from clearing.money import DEFAULT_POLICY
from clearing.tariffs.sessions import hours_between
from hub.domain import (
    CdrPrice,
    ChargingPeriod,
    InvalidInput,
    PriceLine,
    PriceModelRef,
    SessionFacts,
)

# ModelLine unit -> OCPI dimension of the line (``DISCOUNT``: a voucher, in no OCPI field)
_COMPONENT = {"kWh": "ENERGY", "h": "TIME", "min": "PARKING_TIME", "session": "FLAT",
              "voucher": "DISCOUNT"}
PRIVATE_GROUP = "private"


def session_input(facts: SessionFacts) -> SessionInput:
    full = facts.charging_end
    if full is not None:
        full = min(max(full, facts.start), facts.end)
    group = facts.token_group
    return SessionInput(facts.start, facts.end, facts.kwh, full, token_group=group,
                        private=(group or "").lower() == PRIVATE_GROUP,
                        registered=facts.registered)


def session_model(ref: PriceModelRef) -> Any:
    model = parse_model(ref.data)
    if model.kind not in SESSION_MODELS:
        raise InvalidInput(f"price model {ref.id}: kind {model.kind} prices a period "
                           "(month/year/invoice), not a session")
    return model


def price_with_model(facts: SessionFacts, ref: PriceModelRef, country_rate: Decimal
                     ) -> CdrPrice:
    model = session_model(ref)
    if model.vat is None:
        model = dataclasses.replace(model, vat=country_rate)
    priced: ModelPrice = model.price(session_input(facts), facts.time_zone)
    where = f"price model {ref.id} ({ref.scope.lower()} {ref.target})"
    lines = tuple(PriceLine(
        component=_COMPONENT.get(ln.unit, "FLAT"), volume=ln.volume, unit=ln.unit,
        unit_price=ln.unit_price, amount_excl_vat=ln.amount, vat_rate=priced.vat,
        note=f"{where}: {ln.label}") for ln in priced.lines)
    if not lines:
        lines = (PriceLine("ENERGY", facts.kwh, "kWh", Decimal(0), Decimal(0), priced.vat,
                           note=f"{where}: nothing to pay"),)
    hours = hours_between(facts.start, facts.end)

    def dimension(name: str) -> Decimal:
        return DEFAULT_POLICY.total(sum((ln.amount_excl_vat for ln in lines
                                         if ln.component == name), Decimal(0)),
                                    priced.currency)

    return CdrPrice(
        currency=priced.currency, total_energy=facts.kwh, total_time=hours,
        total_cost_excl_vat=priced.total_excl_vat, total_cost_incl_vat=priced.total_incl_vat,
        vat_rate=priced.vat, vat_amount=priced.total_incl_vat - priced.total_excl_vat,
        vat_country=facts.country_code.upper(), lines=lines,
        periods=(ChargingPeriod(facts.start, (("ENERGY", facts.kwh), ("TIME", hours))),),
        total_energy_cost=dimension("ENERGY"), total_fixed_cost=dimension("FLAT"),
        total_time_cost=dimension("TIME"), price_model_id=ref.id)
