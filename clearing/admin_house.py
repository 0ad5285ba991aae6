"""Admin API of the clearing house (issue 6), under ``/admin/clearing`` (included by
``clearing.admin``; same access rule). Exact JSON; errors 404 / 409 / 422.

    GET  /admin/clearing/agreements             PUT {"entity_a": "LV-BIM", "entity_b":
                                                "EE-ELM", "b2b_vat_option": ..., ...}
    POST /admin/clearing/run    {"period": "2026-11"}     validate, rate, accept, book
    POST /admin/clearing/close  {"period": "2026-11"}     run + close every open period of it
    GET  /admin/clearing/periods?period=2026-11
    POST /admin/clearing/periods/{id}/close               409 when already closed (locked)
    GET  /admin/clearing/runs
    GET  /admin/clearing/exceptions?status=OPEN
    GET  /admin/clearing/cdrs/{cdr_pk}                    state, figures and history
    GET  /admin/clearing/disputes   POST {"cdr_pk": 1, "reason": "..."}
    POST /admin/clearing/disputes/{id}/answer   {"answer": "..."}
    POST /admin/clearing/disputes/{id}/resolve  {"resolution": "ACCEPT" | "CREDIT"}
    GET  /admin/clearing/invoices?period=   GET /admin/clearing/invoices/{number}.pdf | .xml
    GET  /admin/clearing/nettings?period=
    GET  /admin/clearing/statements?period=2026-11&entity=LV-BIM
    GET  /admin/clearing/ledger/balances?entity=LV-BIM
    POST /admin/clearing/bank   (body: a camt.053 XML file)   match payments
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from clearing.admin_support import run
from clearing.entities import get_entity
from clearing.finance import pdf, sepa, ubl
from clearing.house import jobs, queries
from clearing.house.close import check_integrity, close_period
from clearing.house.disputes import (
    answer_dispute,
    dispute_json,
    open_dispute,
    resolve_dispute,
)
from clearing.house.documents import invoice_document, statements
from clearing.house.periods import parse_label, set_agreement
from clearing.house.settle import import_bank_lines
from clearing.jsonio import ExactJSONResponse, exact, read_json, read_object
from hub.admin import hub_context
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import CdrRow
from hub.db.models_clearing import CdrClearingRow, DisputeRow, SettlementPeriodRow
from hub.domain import InvalidInput

router = APIRouter(prefix="/clearing", tags=["admin", "clearing"])
Ctx = Annotated[HubContext, Depends(hub_context)]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return read_object(await read_json(request)) if raw.strip() else {}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key}: a non-empty string is required")
    return value


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{key}: an integer is required")
    return value


def _period(body: dict[str, Any]) -> str:
    label = _text(body, "period")
    parse_label(label)
    return label


@router.get("/agreements", response_class=ExactJSONResponse)
async def list_agreements(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await queries.agreements(session))


@router.put("/agreements", response_class=ExactJSONResponse)
async def put_agreement(request: Request, ctx: Ctx) -> Response:
    body = await _body(request)

    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            a = await get_entity(session, _text(body, "entity_a"))
            b = await get_entity(session, _text(body, "entity_b"))
            row = await set_agreement(
                session, a.id, b.id, now=ctx.clock(),
                b2b_vat_option=str(body.get("b2b_vat_option", "REVERSE_CHARGE")),
                settlement_currency=str(body.get("settlement_currency", a.currency)),
                period_months=_int(body, "period_months", 1),
                payment_terms_days=_int(body, "payment_terms_days", 30),
                netting=bool(body.get("netting", True)))
            return queries.agreement_json(row, await queries.codes(session))
    return exact(await run(work()))


@router.post("/run", response_class=ExactJSONResponse)
async def run_period(request: Request, ctx: Ctx) -> Response:
    label = await run(_aperiod(request))
    return exact((await run(jobs.run_period(ctx, label))).json())


async def _aperiod(request: Request) -> str:
    return _period(await _body(request))


@router.post("/close", response_class=ExactJSONResponse)
async def close(request: Request, ctx: Ctx) -> Response:
    label = await run(_aperiod(request))
    ran, closed = await run(jobs.close_period_label(ctx, label))
    return exact({"run": ran.json(), **closed.json()})


@router.get("/periods", response_class=ExactJSONResponse)
async def list_periods(ctx: Ctx, period: str | None = None) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await queries.periods(session, period))


@router.post("/periods/{period_id}/close", response_class=ExactJSONResponse)
async def close_one(period_id: int, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            result = await close_period(session, period_id, now=ctx.clock(),
                                        zone=ctx.settings.clearing.timezone)
            period = await session.get(SettlementPeriodRow, period_id)
            assert period is not None
            await check_integrity(session, period.label, [period_id], ctx.clock(), result)
            return result.json()
    return exact(await run(work()))


@router.get("/runs", response_class=ExactJSONResponse)
async def list_runs(ctx: Ctx, limit: int = 50) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await queries.runs(session, limit))


@router.get("/exceptions", response_class=ExactJSONResponse)
async def list_exceptions(ctx: Ctx, status: str | None = "OPEN", limit: int = 200
                          ) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await queries.exceptions(session, status or None, limit))


@router.get("/cdrs/{cdr_pk}", response_class=ExactJSONResponse)
async def cdr_state(cdr_pk: int, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return await queries.cdr_state(session, cdr_pk)
    return exact(await run(work()))


@router.get("/disputes", response_class=ExactJSONResponse)
async def list_disputes(ctx: Ctx, status: str | None = None) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        q = select(DisputeRow, CdrRow.cdr_id).join(
            CdrClearingRow, CdrClearingRow.id == DisputeRow.clearing_pk).join(
            CdrRow, CdrRow.id == CdrClearingRow.cdr_pk)
        if status:
            q = q.where(DisputeRow.status == status.upper())
        return exact([dispute_json(d, cdr_id) for d, cdr_id in
                      (await session.execute(q.order_by(DisputeRow.id))).all()])


@router.post("/disputes", response_class=ExactJSONResponse, status_code=201)
async def new_dispute(request: Request, ctx: Ctx) -> Response:
    body = await _body(request)

    async def work() -> dict[str, Any]:
        pk = body.get("cdr_pk")
        if not isinstance(pk, int):
            raise InvalidInput("cdr_pk: an integer is required")
        async with transaction(ctx.sessionmaker) as session:
            return dispute_json(await open_dispute(session, pk, _text(body, "reason"),
                                                   ctx.clock(), ctx.settings.clearing.timezone))
    return exact(await run(work()), 201)


@router.post("/disputes/{dispute_id}/answer", response_class=ExactJSONResponse)
async def answer(dispute_id: int, request: Request, ctx: Ctx) -> Response:
    body = await _body(request)

    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return dispute_json(await answer_dispute(session, dispute_id,
                                                     _text(body, "answer"), ctx.clock()))
    return exact(await run(work()))


@router.post("/disputes/{dispute_id}/resolve", response_class=ExactJSONResponse)
async def resolve(dispute_id: int, request: Request, ctx: Ctx) -> Response:
    body = await _body(request)

    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return dispute_json(await resolve_dispute(
                session, dispute_id, _text(body, "resolution").upper(), ctx.clock(),
                ctx.settings.clearing.timezone))
    return exact(await run(work()))


@router.get("/invoices", response_class=ExactJSONResponse)
async def list_invoices(ctx: Ctx, period: str | None = None) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await queries.invoices(session, period))


@router.get("/invoices/{filename}")
async def download_invoice(filename: str, ctx: Ctx) -> Response:
    async def work() -> Response:
        number, dot, ext = filename.rpartition(".")
        if not dot or ext not in ("pdf", "xml"):
            raise InvalidInput("filename: <number>.pdf or <number>.xml")
        async with transaction(ctx.sessionmaker) as session:
            doc = await invoice_document(session, await queries.invoice_by_number(
                session, number))
        if ext == "pdf":
            return Response(pdf.invoice_pdf(doc), media_type="application/pdf")
        return Response(ubl.invoice_ubl(doc), media_type="application/xml")
    return await run(work())


@router.get("/nettings", response_class=ExactJSONResponse)
async def list_nettings(ctx: Ctx, period: str | None = None) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact(await queries.nettings(session, period))


@router.get("/statements", response_class=ExactJSONResponse)
async def get_statements(ctx: Ctx, period: str, entity: str) -> Response:
    async def work() -> list[dict[str, Any]]:
        parse_label(period)
        async with transaction(ctx.sessionmaker) as session:
            row = await get_entity(session, entity)
            return [asdict(st) for st in await statements(session, period, row.id)]
    return exact(await run(work()))


@router.get("/ledger/balances", response_class=ExactJSONResponse)
async def ledger_balances(ctx: Ctx, entity: str | None = None) -> Response:
    async def work() -> list[dict[str, Any]]:
        async with transaction(ctx.sessionmaker) as session:
            pk = (await get_entity(session, entity)).id if entity else None
            return await queries.balances(session, pk)
    return exact(await run(work()))


@router.post("/bank", response_class=ExactJSONResponse)
async def import_bank(request: Request, ctx: Ctx) -> Response:
    data = await request.body()

    async def work() -> dict[str, Any]:
        lines = sepa.parse_camt053(data)
        async with transaction(ctx.sessionmaker) as session:
            return (await import_bank_lines(session, lines, ctx.clock())).json()
    return exact(await run(work()))
