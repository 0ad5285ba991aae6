"""Admin API: contract-level price models (clearing.models), stored as JSON.

    GET  /admin/price-models                      list
    PUT  /admin/price-models/{id}                 {"kind": "hotel", "currency": "EUR", ...}
    GET/DELETE /admin/price-models/{id}
    GET  /admin/price-models/{id}/ocpi-tariff     the closest OCPI 2.2.1 tariff (alt text)
    POST /admin/price-models/{id}/price           session models: {"session": {...},
         "time_zone": ...}; subscription: {"session_kwh": [...], "units": 1};
         annual_blocks: {"month_kwh": ..., "kwh_before": ..., "eligible": false};
         adhoc_surcharge month: {"session_totals": [...]}; cost_price: {"invoice": {"kwh":
         ..., "components": {"energy": ..., "network": ..., "taxes": ...}}, "user_kwh":
         {user: kWh}, "other_loads": {load: kWh}} -> per-payer shares summing to the invoice
    PUT  /admin/price-models/{id}/links           {"scope": "LOCATION", "target": "LOC-1"}
    GET  /admin/price-model-links, DELETE /admin/price-model-links/{scope}/{target}
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from clearing.admin_support import decimal_field, run
from clearing.jsonio import ExactJSONResponse, exact, read_json, read_object, wire
from clearing.models import (
    SESSION_MODELS,
    AdHocSurcharge,
    Allocation,
    AnnualBlocks,
    CostPrice,
    MeterInvoice,
    ModelPrice,
    SessionInput,
    Subscription,
    parse_model,
)
from clearing.tariffs import parse_tariff
from clearing.tariffs.parse import decimal_at
from hub.admin import hub_context
from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import InvalidInput
from hub.services import price_links
from hub.services import tariffs as store
from hub.services.parties import own_party

router = APIRouter()
Ctx = Annotated[HubContext, Depends(hub_context)]


def _out(model_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": model_id, **data}


@router.get("/price-models", response_class=ExactJSONResponse)
async def list_models(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([_out(r.model_id, r.data) for r in await store.list_price_models(session)])


@router.put("/price-models/{model_id}", response_class=ExactJSONResponse)
async def put_model(model_id: str, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> tuple[dict[str, Any], bool]:
        model = parse_model(read_object(body))
        data = model.to_json()
        async with transaction(ctx.sessionmaker) as session:
            _, created = await store.save_price_model(session, model_id, model.kind, data,
                                                      ctx.clock())
        return _out(model_id, data), created
    out, created = await run(work())
    return exact(out, 201 if created else 200)


@router.get("/price-models/{model_id}", response_class=ExactJSONResponse)
async def get_model(model_id: str, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            row = await store.get_price_model(session, model_id)
            return _out(row.model_id, row.data)
    return exact(await run(work()))


@router.delete("/price-models/{model_id}", status_code=204)
async def delete_model(model_id: str, ctx: Ctx) -> Response:
    async def work() -> None:
        async with transaction(ctx.sessionmaker) as session:
            await store.delete_price_model(session, model_id)
    await run(work())
    return Response(status_code=204)


async def _load(ctx: HubContext, model_id: str) -> tuple[Any, str, str]:
    async with transaction(ctx.sessionmaker) as session:
        row = await store.get_price_model(session, model_id)
        cpo = await own_party(session, "CPO")
        return parse_model(row.data), cpo.country_code, cpo.party_id


@router.get("/price-models/{model_id}/ocpi-tariff", response_class=ExactJSONResponse)
async def model_tariff(model_id: str, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        model, cc, party = await _load(ctx, model_id)
        tariff = model.to_ocpi_tariff(cc, party, model_id)
        parse_tariff(tariff)  # always a valid OCPI 2.2.1 tariff
        return dict(wire(tariff))
    return exact(await run(work()))


def _price_json(p: ModelPrice) -> dict[str, Any]:
    return {"currency": p.currency, "vat": p.vat,
            "lines": [{"label": ln.label, "volume": ln.volume, "unit": ln.unit,
                       "unit_price": ln.unit_price, "amount_excl_vat": ln.amount}
                      for ln in p.lines],
            "total_cost": {"excl_vat": p.total_excl_vat, "incl_vat": p.total_incl_vat},
            "notes": list(p.notes)}


def price_model(model: Any, data: dict[str, Any], default_zone: str) -> ModelPrice:
    if isinstance(model, Subscription):
        kwhs = data.get("session_kwh")
        if not isinstance(kwhs, list):
            raise InvalidInput("session_kwh: must be a list of kWh per session")
        units = decimal_field(data, "units", Decimal(1))
        return model.price_month([decimal_field({"kwh": k}, "kwh") or Decimal(0)
                                  for k in kwhs], int(units or 1))
    if isinstance(model, AnnualBlocks):
        month = decimal_field(data, "month_kwh")
        if month is None:
            raise InvalidInput("month_kwh: is required")
        return model.price_month(month, decimal_field(data, "kwh_before", Decimal(0))
                                 or Decimal(0), eligible=bool(data.get("eligible")))
    if isinstance(model, AdHocSurcharge) and "session_totals" in data:
        totals = data.get("session_totals")
        if not isinstance(totals, list):
            raise InvalidInput("session_totals: must be a list of session totals")
        return model.price_month([decimal_field({"session_totals": t}, "session_totals")
                                  or Decimal(0) for t in totals])
    session = SessionInput.from_json(read_object(data.get("session"), "session"))
    return model.price(session, str(data.get("time_zone") or default_zone))


def _kwh_map(data: dict[str, Any], key: str) -> dict[str, Decimal]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be an object {{name: kWh}}")
    return {str(k): decimal_at(v, f"{key}.{k}") for k, v in value.items()}


def allocation_json(a: Allocation) -> dict[str, Any]:
    return {"currency": a.currency, "invoice_total": a.invoice_total,
            "cost_per_kwh": dict(a.cost_per_kwh), "notes": list(a.notes),
            "shares": [{"payer": s.payer, "role": s.role, "kwh": s.kwh,
                        "amounts": dict(s.amounts), "total": s.total} for s in a.shares]}


def allocate(model: CostPrice, data: dict[str, Any]) -> Allocation:
    return model.allocate(MeterInvoice.from_json(data.get("invoice")),
                          _kwh_map(data, "user_kwh"), _kwh_map(data, "other_loads"))


@router.post("/price-models/{model_id}/price", response_class=ExactJSONResponse)
async def price_with_model(model_id: str, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        model, _, _ = await _load(ctx, model_id)
        if isinstance(model, CostPrice):
            return allocation_json(allocate(model, read_object(body)))
        return _price_json(price_model(model, read_object(body),
                                       ctx.settings.clearing.timezone))
    return exact(await run(work()))


@router.get("/price-model-links", response_class=ExactJSONResponse)
async def list_links(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await price_links.list_links(session))


@router.put("/price-models/{model_id}/links", response_class=ExactJSONResponse)
async def attach_model(model_id: str, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        return await attach(ctx, model_id, read_object(body))
    return exact(await run(work()))


@router.delete("/price-model-links/{scope}/{target}", status_code=204)
async def detach_model(scope: str, target: str, ctx: Ctx) -> Response:
    async def work() -> None:
        async with transaction(ctx.sessionmaker) as session:
            await price_links.detach(session, scope, target)
    await run(work())
    return Response(status_code=204)


async def attach(ctx: HubContext, model_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """``{"scope": "LOCATION"|"STATION"|"GROUP"|"CONTRACT", "target": id}``; only models
    that price a session can be attached (clearing.models.ours)."""
    scope, target = str(data.get("scope") or ""), str(data.get("target") or "")
    async with transaction(ctx.sessionmaker) as session:
        row = await store.get_price_model(session, model_id)
        if row.kind not in SESSION_MODELS:
            raise InvalidInput(f"scope: a {row.kind} model prices a period, not a session; "
                               "only session models can be attached")
        link = await price_links.attach(session, model_id, scope, target, ctx.clock())
        return {"model_id": model_id, "scope": link.scope, "target": link.target}
