"""Admin API for tariffs and pricing (mounted at ``/admin`` by hub.app; same access rule as
``hub.admin``). Bodies and answers are exact JSON (Decimals as JSON numbers).

    GET/POST /admin/tariffs, GET/PUT/DELETE /admin/tariffs/{id}   our OCPI 2.2.1 tariffs
    POST /admin/tariffs/{id}/price        price a CDR or a session: breakdown + cost fields
    GET  /admin/cdrs/{id}/explanation     how a priced CDR was priced, line by line
    POST /admin/cdrs/{id}/credit          a credit CDR for a correction (outbox to the eMSP)

Re-pricing of partners' CDRs: ``clearing.admin_repricing``; price models:
``clearing.admin_models`` (both included here, so hub.app mounts one router).
Errors: 404 unknown, 409 conflict, 422 bad input naming the field.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.admin_house import router as house_router
from clearing.admin_models import router as models_router
from clearing.admin_reference import router as reference_router
from clearing.admin_repricing import router as repricing_router
from clearing.admin_support import (
    decimal_field,
    row_json,
    row_tariff,
    run,
    tariff_fields,
    validated,
)
from clearing.jsonio import ExactJSONResponse, exact, read_json, read_object
from clearing.money import quantum
from clearing.pricing import local_date
from clearing.tariffs import (
    build_usage,
    compile_tariff,
    cost_fields,
    credit_domain_cdr,
    explanation_json,
    explanation_text,
    parse_tariff,
    parse_usage,
    price,
    priced_cdr,
)
from clearing.tariffs.parse import datetime_at
from clearing.vat import vat_rate
from hub.admin import hub_context, require_admin
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import CdrRow, LocationRow, PartyRow, TariffRow
from hub.domain import Conflict, InvalidInput, NotFound
from hub.services import tariffs as store
from hub.services.credits import store_credit_cdr
from hub.services.parties import own_party
from hub.services.records import cdr_from_row

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin", "tariffs"])
router.include_router(repricing_router)
router.include_router(models_router)
router.include_router(reference_router)  # issue 6: entities, owners, split, FX, VAT
router.include_router(house_router)  # issue 6: clearing house (periods, ledger, invoices)
Ctx = Annotated[HubContext, Depends(hub_context)]


# -- tariffs CRUD ---------------------------------------------------------------------------------


async def _own_row(session: AsyncSession, tariff_id: str) -> tuple[TariffRow, PartyRow]:
    row = await store.find_tariff_row(session, tariff_id)
    party = await session.get(PartyRow, row.party_pk) if row is not None else None
    if row is None or party is None:
        raise NotFound(f"unknown tariff {tariff_id}")
    return row, party


async def save_own_tariff(ctx: HubContext, data: Any, tariff_id: str | None, create_only: bool
                ) -> tuple[dict[str, Any], bool]:
    data = read_object(data)
    if tariff_id is not None and data.setdefault("id", tariff_id) != tariff_id:
        raise InvalidInput(f"id: {data['id']!r} does not match the path ({tariff_id!r})")
    async with transaction(ctx.sessionmaker) as session:
        cpo = await own_party(session, "CPO")
        data.setdefault("country_code", cpo.country_code)
        data.setdefault("party_id", cpo.party_id)
        tariff, stored = validated(data)
        party = await store.tariff_party(session, tariff.country_code, tariff.party_id,
                                         store.OWN)
        row, created = await store.save_tariff(
            session, party, tariff.id, stored, tariff_fields(tariff), source=store.OWN,
            now=ctx.clock(), create_only=create_only)
        return row_json(row, party), created


@router.get("/tariffs", response_class=ExactJSONResponse)
async def list_tariffs(ctx: Ctx, source: str = "own") -> Response:
    async def work() -> list[dict[str, Any]]:
        async with transaction(ctx.sessionmaker) as session:
            return [{**row_json(t, p), "source": t.source}
                    for t, p in await store.list_tariff_rows(session, source or None)]
    return exact(await run(work()))


@router.post("/tariffs", response_class=ExactJSONResponse, status_code=201)
async def create_tariff(request: Request, ctx: Ctx) -> Response:
    body, _ = await run(save_own_tariff(ctx, await read_json(request), None, True))
    return exact(body, 201)


@router.get("/tariffs/{tariff_id}", response_class=ExactJSONResponse)
async def get_tariff(tariff_id: str, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return row_json(*await _own_row(session, tariff_id))
    return exact(await run(work()))


@router.put("/tariffs/{tariff_id}", response_class=ExactJSONResponse)
async def put_tariff(tariff_id: str, request: Request, ctx: Ctx) -> Response:
    body, created = await run(save_own_tariff(ctx, await read_json(request), tariff_id, False))
    return exact(body, 201 if created else 200)


@router.delete("/tariffs/{tariff_id}", status_code=204)
async def delete_tariff(tariff_id: str, ctx: Ctx) -> Response:
    async def work() -> None:
        async with transaction(ctx.sessionmaker) as session:
            row, _ = await _own_row(session, tariff_id)
            await store.delete_tariff(session, row)
    await run(work())
    return Response(status_code=204)


# -- pricing a CDR or a session under a stored tariff ---------------------------------------------


async def _default_zone(session: AsyncSession, ctx: HubContext, row: TariffRow) -> str:
    zone = (await session.scalars(select(LocationRow.time_zone).where(
        LocationRow.tariff_pk == row.id))).first()
    return zone or ctx.settings.clearing.timezone


def _price_request(tariff: Any, body: dict[str, Any], zone: str, country: str | None
                   ) -> dict[str, Any]:
    """``{"cdr": OCPI CDR}`` (its periods priced, its costs ignored) or ``{"session":
    {start_date_time, end_date_time, kwh, charging_end_date_time?}}`` (split like ours)."""
    compiled = compile_tariff(tariff, zone)
    cdr = body.get("cdr")
    if cdr is not None:
        usage = parse_usage(read_object(cdr, "cdr"))
    else:
        s = read_object(body.get("session"), "session")
        start = datetime_at(s.get("start_date_time"), "session.start_date_time")
        end = datetime_at(s.get("end_date_time"), "session.end_date_time")
        full = s.get("charging_end_date_time")
        kwh = decimal_field(s, "kwh")
        if kwh is None:
            raise InvalidInput("session.kwh: is required")
        usage = build_usage(compiled, start, end, kwh, None if full is None else datetime_at(
            full, "session.charging_end_date_time"))
    default_vat = None if country is None else vat_rate(country, local_date(usage.end, zone))
    priced = price(compiled, usage, default_vat=default_vat)
    out: dict[str, Any] = {"tariff_id": tariff.id, "time_zone": zone, "vat_country": country,
                           **cost_fields(priced), "explanation": explanation_json(priced),
                           "text": explanation_text(priced)}
    if cdr is not None:
        out["cdr"] = priced_cdr(cdr, priced)
    return out


@router.post("/tariffs/{tariff_id}/price", response_class=ExactJSONResponse)
async def price_with_tariff(tariff_id: str, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        async with transaction(ctx.sessionmaker) as session:
            row, party = await _own_row(session, tariff_id)
            tariff = row_tariff(row, party)
            zone = str(data.get("time_zone") or await _default_zone(session, ctx, row))
        country = data.get("country_code")
        if country is None and data.get("session") is not None:
            country = party.country_code  # priced as our own session: the CPO's VAT
        return _price_request(tariff, data, zone, None if country is None else str(country))
    return exact(await run(work()))


# -- explanations and credits ---------------------------------------------------------------------


async def explain_cdr(session: AsyncSession, ctx: HubContext, row: CdrRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cdr_id": row.cdr_id, "source": row.source, "credit": row.credit,
        "currency": row.currency,
        "total_cost": {"excl_vat": row.total_cost_excl_vat, "incl_vat": row.total_cost_incl_vat},
        "stored_breakdown": row.breakdown}
    full = [t for t in row.tariffs if isinstance(t, dict) and t.get("elements")]
    if row.source == "received":
        rep = await store.repricing_for(session, row.id)
        if rep is not None and rep.explanation:
            return {**out, "repricing_status": rep.status, "explanation": rep.explanation,
                    "text": rep.explanation.get("text")}
    model_id = (row.raw or {}).get("price_model") if row.source == "own" else None
    if model_id:
        unit = quantum(row.currency)
        incl = row.total_cost_incl_vat
        lines = [f"CDR {row.cdr_id}: priced by price model {model_id} (contract-level "
                 f"pricing), total {row.total_cost_excl_vat.quantize(unit)} {row.currency} "
                 f"excl. VAT, {'-' if incl is None else incl.quantize(unit)} incl. VAT"] + [
            f"  {b.get('component')} {b.get('volume')} {b.get('unit')} x "
            f"{b.get('unit_price')} = {b.get('amount_excl_vat')} (VAT {b.get('vat_rate')}%):"
            f" {b.get('note')}" for b in row.breakdown]
        return {**out, "price_model": model_id, "explanation": None, "text": "\n".join(lines)}
    if not full:
        lines = [f"CDR {row.cdr_id}: not priced by a tariff"] + [
            f"  {b.get('component')} {b.get('volume')} {b.get('unit')}: {b.get('note')}"
            for b in row.breakdown]
        return {**out, "explanation": None, "text": "\n".join(lines)}
    zone = (await store.location_time_zone(session, row.cpo_party_pk,
                                           str(row.location.get("id") or ""))
            or ctx.settings.clearing.timezone)
    usage = parse_usage({"start_date_time": row.start_date_time.isoformat(),
                         "end_date_time": row.end_date_time.isoformat(),
                         "charging_periods": row.charging_periods})
    priced = price(compile_tariff(parse_tariff(full[0]), zone), usage)
    text = explanation_text(priced)
    if row.credit:
        ref = (row.raw or {}).get("credit_reference_id")
        text = (f"CREDIT CDR {row.cdr_id} for CDR {ref}: the amounts below are those of the "
                f"original; this CDR carries them negated.\n{text}")
    sign = -1 if row.credit else 1
    consistent = sign * priced.total.excl_vat == row.total_cost_excl_vat
    return {**out, "explanation": explanation_json(priced), "text": text,
            "consistent": consistent}


@router.get("/cdrs/{cdr_id}/explanation", response_class=ExactJSONResponse)
async def cdr_explanation(cdr_id: str, ctx: Ctx, cpo: str | None = None) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return await explain_cdr(session, ctx, await store.find_cdr_row(session, cdr_id, cpo))
    return exact(await run(work()))


@router.post("/cdrs/{cdr_id}/credit", response_class=ExactJSONResponse, status_code=201)
async def credit(cdr_id: str, request: Request, ctx: Ctx, cpo: str | None = None) -> Response:
    raw = await request.body()
    body = read_object(await read_json(request)) if raw.strip() else {}

    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            row = await store.find_cdr_row(session, cdr_id, cpo)
            if row.credit:
                raise Conflict(f"CDR {cdr_id} is a credit CDR and cannot be credited")
            cdr = await cdr_from_row(session, row)
            credited = credit_domain_cdr(cdr, ctx.clock())
            credited = replace(credited, breakdown=tuple(_negated(b) for b in cdr.breakdown))
            new = await store_credit_cdr(session, row.id, credited,
                                         reason=body.get("reason"), now=ctx.clock())
            return {"id": new.cdr_id, "credit": True, "credit_reference_id": row.cdr_id,
                    "currency": new.currency,
                    "total_cost": {"excl_vat": new.total_cost_excl_vat,
                                   "incl_vat": new.total_cost_incl_vat}}
    out = await run(work())
    ctx.outbox_written()
    return exact(out, 201)


def _negated(line: dict[str, object]) -> dict[str, object]:
    out = dict(line)
    amount = out.get("amount_excl_vat")
    if isinstance(amount, str):
        out["amount_excl_vat"] = format(-Decimal(amount), "f")
    out["note"] = "; ".join(x for x in ("credit", str(out.get("note") or "")) if x)
    return out
