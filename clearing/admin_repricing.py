"""Admin API: partners' tariffs, roaming agreements and the re-pricing of received CDRs.

    PUT  /admin/partner-tariffs           upload a partner CPO's OCPI 2.2.1 tariff (the OCPI
    GET  /admin/partner-tariffs           tariffs receiver is issue 5; this is the manual way)
    PUT  /admin/agreements/{partner_id}   {"tolerance": 0.05, "time_zone": "Europe/Tallinn"}
    GET  /admin/agreements
    POST /admin/repricing/run             {"all": false, "cdr_ids": [...]}: re-price received
                                          CDRs (default: those never re-priced)
    GET  /admin/repricing?status=OUTSIDE_TOLERANCE
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.admin_support import decimal_field, row_json, run, tariff_fields, validated
from clearing.jsonio import ExactJSONResponse, exact, read_json, read_object, to_store
from clearing.repricing import RepricingOutcome, reprice_received
from clearing.tariffs.engine import zone_for
from hub.admin import hub_context
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import CdrRepricingRow, CdrRow, PartnerRow, PartyRow
from hub.domain import InvalidInput, NotFound
from hub.services import tariffs as store

router = APIRouter()
Ctx = Annotated[HubContext, Depends(hub_context)]
DEFAULT_TOLERANCE = Decimal("0.01")


@router.put("/partner-tariffs", response_class=ExactJSONResponse)
async def put_partner_tariff(request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> tuple[dict[str, Any], bool]:
        tariff, stored = validated(read_object(body))
        async with transaction(ctx.sessionmaker) as session:
            party = await store.tariff_party(session, tariff.country_code, tariff.party_id,
                                             store.PARTNER)
            row, created = await store.save_tariff(
                session, party, tariff.id, stored, tariff_fields(tariff),
                source=store.PARTNER, now=ctx.clock())
            return row_json(row, party), created
    out, created = await run(work())
    return exact(out, 201 if created else 200)


@router.get("/partner-tariffs", response_class=ExactJSONResponse)
async def list_partner_tariffs(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        rows = await store.list_tariff_rows(session, store.PARTNER)
        return exact([row_json(t, p) for t, p in rows])


@router.put("/agreements/{partner_id}", response_class=ExactJSONResponse)
async def put_agreement(partner_id: int, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        tolerance = decimal_field(data, "tolerance", DEFAULT_TOLERANCE)
        assert tolerance is not None
        zone = data.get("time_zone")
        if zone is not None:
            zone_for(str(zone))  # TariffError "time_zone: unknown IANA time zone"
        async with transaction(ctx.sessionmaker) as session:
            if await session.get(PartnerRow, partner_id) is None:
                raise NotFound(f"unknown partner {partner_id}")
            row = await store.set_agreement(session, partner_id, tolerance,
                                            None if zone is None else str(zone), ctx.clock())
            return {"partner_id": row.partner_id, "tolerance": row.tolerance,
                    "time_zone": row.time_zone}
    return exact(await run(work()))


@router.get("/agreements", response_class=ExactJSONResponse)
async def list_agreements(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([{"partner_id": r.partner_id, "tolerance": r.tolerance,
                       "time_zone": r.time_zone} for r in await store.list_agreements(session)])


def _values(outcome: RepricingOutcome, tariff_pk: int | None, now: Any) -> dict[str, Any]:
    explanation = outcome.explanation
    if explanation is not None and outcome.notes:
        explanation = {**explanation, "notes": list(outcome.notes)}
    return {
        "status": outcome.status, "tolerance": outcome.tolerance, "tariff_pk": tariff_pk,
        "tariff_id": outcome.tariff_id, "currency": outcome.currency,
        "claimed_excl_vat": outcome.claimed_excl_vat,
        "computed_excl_vat": outcome.computed_excl_vat,
        "claimed_incl_vat": outcome.claimed_incl_vat,
        "computed_incl_vat": outcome.computed_incl_vat,
        "difference_excl_vat": outcome.difference_excl_vat,
        "differences": to_store(list(outcome.differences)),
        "explanation": None if explanation is None else to_store(explanation),
        "message": outcome.message, "repriced_at": now,
    }


async def reprice_row(session: AsyncSession, cdr: CdrRow, now: Any) -> CdrRepricingRow:
    """Re-price one received CDR and keep the result (a re-run replaces it)."""
    party = await session.get(PartyRow, cdr.cpo_party_pk)
    assert party is not None
    rows = await store.partner_tariffs(session, cdr.cpo_party_pk)
    published = {tid: row_json(r, party) for tid, r in rows.items()}
    agreement = await store.agreement_for(session, cdr.received_from_partner_id)
    outcome = reprice_received(
        cdr.raw or {}, published,
        tolerance=agreement.tolerance if agreement else DEFAULT_TOLERANCE,
        agreement_zone=agreement.time_zone if agreement else None)
    tariff_row = rows.get(outcome.tariff_id or "") if outcome.tariff_source == "published" \
        else None
    return await store.store_repricing(session, cdr.id, _values(
        outcome, tariff_row.id if tariff_row else None, now))


def repricing_json(rep: CdrRepricingRow, cdr: CdrRow) -> dict[str, Any]:
    return {
        "cdr_id": cdr.cdr_id, "partner_id": cdr.received_from_partner_id,
        "status": rep.status, "tariff_id": rep.tariff_id, "currency": rep.currency,
        "tolerance": rep.tolerance, "claimed_excl_vat": rep.claimed_excl_vat,
        "computed_excl_vat": rep.computed_excl_vat, "claimed_incl_vat": rep.claimed_incl_vat,
        "computed_incl_vat": rep.computed_incl_vat,
        "difference_excl_vat": rep.difference_excl_vat, "differences": rep.differences,
        "message": rep.message, "repriced_at": rep.repriced_at,
    }


@router.post("/repricing/run", response_class=ExactJSONResponse)
async def run_repricing(request: Request, ctx: Ctx) -> Response:
    raw = await request.body()
    body = read_object(await read_json(request)) if raw.strip() else {}

    async def work() -> dict[str, Any]:
        ids = body.get("cdr_ids")
        if ids is not None and not (isinstance(ids, list)
                                    and all(isinstance(i, str) for i in ids)):
            raise InvalidInput("cdr_ids: must be a list of CDR ids")
        async with transaction(ctx.sessionmaker) as session:
            pks = None if ids is None else [
                (await store.find_cdr_row(session, i)).id for i in ids]
            rows = await store.received_cdr_rows(
                session, only_new=not body.get("all") and ids is None, cdr_pks=pks)
            results = [repricing_json(await reprice_row(session, r, ctx.clock()), r)
                       for r in rows]
        counts = Counter(r["status"] for r in results)
        return {"repriced": len(results), "by_status": dict(counts), "results": results}
    return exact(await run(work()))


@router.get("/repricing", response_class=ExactJSONResponse)
async def list_repricing(ctx: Ctx, status: str | None = None, limit: int = 100) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([repricing_json(r, c)
                      for r, c in await store.list_repricings(session, status, limit)])
