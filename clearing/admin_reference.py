"""Admin API for clearing reference data (issue 6 items 2-4), included by ``clearing.admin``
(mounted at ``/admin``). Exact JSON (Decimals as JSON numbers); errors: 404 unknown, 409
conflict, 422 bad input naming the field.

    GET/POST /admin/clearing/entities, GET/PUT/DELETE /admin/clearing/entities/{code}
    GET/PUT  /admin/clearing/party-entities          {"country_code","party_id","role",
                                                      "entity_code"}
    GET/POST /admin/clearing/owners, DELETE /admin/clearing/owners/{id}
    GET      /admin/clearing/owners/of?station_id=&location_id=&on=
    GET/POST /admin/clearing/split-rules, GET/PUT/DELETE /admin/clearing/split-rules/{id}
    POST     /admin/clearing/split-preview           parts with explanations
    GET      /admin/clearing/fx-rates?currency=&since=, PUT /admin/clearing/fx-rates (manual)
    POST     /admin/clearing/fx-rates/import         body: an ECB file (CSV/XML/zip)
    GET      /admin/clearing/vat-rates[?country=&on=] VAT and excise tables (read-only)
    POST     /admin/clearing/tax-decision            supplier/customer/country -> TaxDecision
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from clearing import entities as ents
from clearing import fx
from clearing import split as splits
from clearing.admin_support import decimal_field, run
from clearing.jsonio import ExactJSONResponse, exact, read_json, read_object
from clearing.tax import EXCISE, TaxParty, determine, excise_rate, vat_amount, vat_in_gross
from clearing.vat import EU_COUNTRIES, VAT_RATES, vat_rate_since
from hub.admin import hub_context
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models_clearing_ref import LegalEntityRow
from hub.domain import InvalidInput

router = APIRouter(prefix="/clearing", tags=["admin", "clearing reference"])
Ctx = Annotated[HubContext, Depends(hub_context)]


# -- parsing helpers (edge) -----------------------------------------------------------------------


def _date(data: dict[str, Any], key: str, *, required: bool = True) -> date | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key}: is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{key}: not a date (YYYY-MM-DD): {value!r}") from exc


def _req_date(data: dict[str, Any], key: str) -> date:
    value = _date(data, key)
    assert value is not None
    return value


def _str(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key}: is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key}: must be a non-empty string")
    return value.strip()


def _req_str(data: dict[str, Any], key: str) -> str:
    value = _str(data, key)
    assert value is not None
    return value


def _flag(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{key}: must be true or false")
    return value


def _num(data: dict[str, Any], key: str) -> Decimal:
    value = decimal_field(data, key)
    if value is None:
        raise InvalidInput(f"{key}: is required")
    return value


def entity_json(row: LegalEntityRow) -> dict[str, Any]:
    return {"code": row.code, "is_own": row.is_own,
            **{k: getattr(row, k) for k in ents.ENTITY_FIELDS}}


def rule_json(rule: splits.SplitRule) -> dict[str, Any]:
    return asdict(rule)


def parse_rule(data: dict[str, Any], rule_id: int = 0) -> splits.SplitRule:
    known = {"id", "role", "entity_code", "basis", "amount", "percent", "tax_rule", "vat_rate",
             "valid_from", "valid_to", "scope", "scope_id", "currency", "note"}
    for key in data:
        if key not in known:
            raise InvalidInput(f"{key}: unknown field")
    currency = _str(data, "currency", required=False)
    return splits.SplitRule(
        id=rule_id, role=_req_str(data, "role"),  # type: ignore[arg-type]
        entity_code=_req_str(data, "entity_code"),
        basis=_req_str(data, "basis"),  # type: ignore[arg-type]
        amount=decimal_field(data, "amount"), percent=decimal_field(data, "percent"),
        tax_rule=_str(data, "tax_rule", required=False) or "DOMESTIC_VAT",  # type: ignore[arg-type]
        vat_rate=decimal_field(data, "vat_rate", Decimal(0)) or Decimal(0),
        valid_from=_req_date(data, "valid_from"), valid_to=_date(data, "valid_to", required=False),
        scope=_str(data, "scope", required=False) or "ALL",  # type: ignore[arg-type]
        scope_id=_str(data, "scope_id", required=False),
        currency=None if currency is None else currency.upper())


# -- legal entities -------------------------------------------------------------------------------


@router.get("/entities", response_class=ExactJSONResponse)
async def list_entities(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([entity_json(r) for r in await ents.list_entities(session)])


@router.post("/entities", response_class=ExactJSONResponse, status_code=201)
async def create_entity(request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = dict(read_object(body))
        code = _req_str(data, "code")
        async with transaction(ctx.sessionmaker) as session:
            row = await ents.create_entity(session, code, data,
                                           is_own=_flag(data, "is_own") or False)
            return entity_json(row)
    return exact(await run(work()), 201)


@router.get("/entities/{code}", response_class=ExactJSONResponse)
async def get_entity(code: str, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return entity_json(await ents.get_entity(session, code))
    return exact(await run(work()))


@router.put("/entities/{code}", response_class=ExactJSONResponse)
async def update_entity(code: str, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = dict(read_object(body))
        if data.get("code", code) != code:
            raise InvalidInput(f"code: {data['code']!r} does not match the path ({code!r})")
        own = _flag(data, "is_own")
        async with transaction(ctx.sessionmaker) as session:
            row = await ents.update_entity(session, code, data, is_own=own)
            return entity_json(row)
    return exact(await run(work()))


@router.delete("/entities/{code}", status_code=204)
async def delete_entity(code: str, ctx: Ctx) -> Response:
    async def work() -> None:
        async with transaction(ctx.sessionmaker) as session:
            await ents.delete_entity(session, code)
    await run(work())
    return Response(status_code=204)


# -- parties -> entities, owners ------------------------------------------------------------------


@router.get("/party-entities", response_class=ExactJSONResponse)
async def list_party_entities(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([asdict(m) for m in await ents.list_party_mappings(session)])


@router.put("/party-entities", response_class=ExactJSONResponse)
async def map_party(request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        async with transaction(ctx.sessionmaker) as session:
            party = await ents.find_party(session, _req_str(data, "country_code"),
                                          _req_str(data, "party_id"), _req_str(data, "role"))
            await ents.map_party(session, party.id, _req_str(data, "entity_code"))
            return {"party_pk": party.id, "entity_code": data["entity_code"]}
    return exact(await run(work()))


def _owner_json(row: Any, code: str) -> dict[str, Any]:
    return {"id": row.id, "scope": row.scope, "target_id": row.target_id,
            "entity_code": code, "valid_from": row.valid_from}


@router.get("/owners", response_class=ExactJSONResponse)
async def list_owners(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([_owner_json(r, c) for r, c in await ents.list_owner_assignments(session)])


@router.post("/owners", response_class=ExactJSONResponse, status_code=201)
async def assign_owner(request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        code = _req_str(data, "entity_code")
        async with transaction(ctx.sessionmaker) as session:
            row = await ents.assign_owner(session, _req_str(data, "scope").upper(),
                                          _req_str(data, "target_id"), code,
                                          _req_date(data, "valid_from"))
            return _owner_json(row, code)
    return exact(await run(work()), 201)


@router.get("/owners/of", response_class=ExactJSONResponse)
async def owner_of(ctx: Ctx, station_id: str | None = None, location_id: str | None = None,
                   on: str | None = None) -> Response:
    async def work() -> dict[str, Any] | None:
        day = _date({"on": on}, "on", required=False)
        async with transaction(ctx.sessionmaker) as session:
            row = await ents.owner_of(session, location_id=location_id,
                                      station_id=station_id, on=day)
            return None if row is None else entity_json(row)
    return exact({"owner": await run(work())})


@router.delete("/owners/{assignment_id}", status_code=204)
async def delete_owner(assignment_id: int, ctx: Ctx) -> Response:
    async def work() -> None:
        async with transaction(ctx.sessionmaker) as session:
            await ents.delete_owner_assignment(session, assignment_id)
    await run(work())
    return Response(status_code=204)


# -- split rules ----------------------------------------------------------------------------------


@router.get("/split-rules", response_class=ExactJSONResponse)
async def list_rules(ctx: Ctx) -> Response:
    async with transaction(ctx.sessionmaker) as session:
        return exact([rule_json(r) for r in await splits.list_rules(session)])


@router.post("/split-rules", response_class=ExactJSONResponse, status_code=201)
async def create_rule(request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        rule = parse_rule(data)
        async with transaction(ctx.sessionmaker) as session:
            return rule_json(await splits.save_rule(session, rule, note=data.get("note")))
    return exact(await run(work()), 201)


@router.get("/split-rules/{rule_id}", response_class=ExactJSONResponse)
async def get_rule(rule_id: int, ctx: Ctx) -> Response:
    async def work() -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return rule_json(await splits.get_rule(session, rule_id))
    return exact(await run(work()))


@router.put("/split-rules/{rule_id}", response_class=ExactJSONResponse)
async def put_rule(rule_id: int, request: Request, ctx: Ctx) -> Response:
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        if data.get("id", rule_id) != rule_id:
            raise InvalidInput(f"id: {data['id']!r} does not match the path ({rule_id})")
        rule = parse_rule(data, rule_id)
        async with transaction(ctx.sessionmaker) as session:
            await splits.get_rule(session, rule_id)  # 404 first
            return rule_json(await splits.save_rule(session, rule, note=data.get("note")))
    return exact(await run(work()))


@router.delete("/split-rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: int, ctx: Ctx) -> Response:
    async def work() -> None:
        async with transaction(ctx.sessionmaker) as session:
            await splits.delete_rule(session, rule_id)
    await run(work())
    return Response(status_code=204)


@router.post("/split-preview", response_class=ExactJSONResponse)
async def split_preview(request: Request, ctx: Ctx) -> Response:
    """``{"gross", "vat"?, "currency"?, "energy_kwh", "country", "on", "owner_code"?,
    "location_id"?, "station_id"?, "tax_entity"?}``; without ``vat`` the VAT in the gross is
    derived from the country's rate: gross - gross / (1 + rate), half-up."""
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        ccy = (_str(data, "currency", required=False) or "EUR").upper()
        country = _req_str(data, "country").upper()
        on = _req_date(data, "on")
        gross = _num(data, "gross")
        vat = decimal_field(data, "vat")
        if vat is None:  # a driver's payment: the charging country's VAT is in it
            decision = determine(supplier=TaxParty(country), on=on, country_of_supply=country,
                                 customer=TaxParty(country, business=False))
            vat = vat_in_gross(gross, decision, ccy)
        inp = splits.SplitInput(gross, vat, ccy, _num(data, "energy_kwh"), country, on)
        owner = _str(data, "owner_code", required=False)
        location, station = (_str(data, k, required=False) for k in ("location_id",
                                                                      "station_id"))
        async with transaction(ctx.sessionmaker) as session:
            if owner is None:
                row = await ents.owner_of(session, location_id=location, station_id=station,
                                          on=on)
                owner = None if row is None else row.code
            rules = await splits.rules_for(session, owner_code=owner, location_id=location,
                                           station_id=station, on=on)
        parts = splits.split(inp, rules, residual_entity=owner or "OWNER",
                             tax_entity=_str(data, "tax_entity", required=False)
                             or f"TAX-{country}")
        return {"input": asdict(inp), "owner_code": owner,
                "parts": [asdict(p) for p in parts],
                "total": sum((p.gross for p in parts), Decimal(0)),
                "text": "\n".join(f"{p.role} {p.entity_code}: {p.explanation}" for p in parts)}
    return exact(await run(work()))


# -- FX, VAT, tax ---------------------------------------------------------------------------------


@router.get("/fx-rates", response_class=ExactJSONResponse)
async def list_fx_rates(ctx: Ctx, currency: str | None = None, since: str | None = None
                        ) -> Response:
    async def work() -> list[dict[str, Any]]:
        day = _date({"since": since}, "since", required=False)
        async with transaction(ctx.sessionmaker) as session:
            return [asdict(r) for r in await fx.list_rates(session, currency=currency,
                                                           since=day)]
    return exact(await run(work()))


@router.put("/fx-rates", response_class=ExactJSONResponse)
async def put_fx_rate(request: Request, ctx: Ctx) -> Response:
    """A manual rate ``{"quote": "SEK", "rate_date": ..., "rate": 11.2}`` (source "manual");
    the next ECB import of that date replaces it."""
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        quote = _req_str(data, "quote").upper()
        if quote not in fx.SETTLEMENT_CURRENCIES:
            raise InvalidInput(f"quote: one of {', '.join(fx.SETTLEMENT_CURRENCIES)}")
        rate = _num(data, "rate")
        if rate <= 0:
            raise InvalidInput("rate: must be positive")
        day = _req_date(data, "rate_date")
        async with transaction(ctx.sessionmaker) as session:
            written = await fx.store_rate(session, quote, day, rate, "manual")
        return {**asdict(fx.FxRate("EUR", quote, rate, day, "manual")), "written": written}
    return exact(await run(work()))


@router.post("/fx-rates/import", response_class=ExactJSONResponse)
async def import_fx_rates(request: Request, ctx: Ctx) -> Response:
    data = await request.body()

    async def work() -> dict[str, Any]:
        if not data.strip():
            raise InvalidInput("body: an ECB eurofxref file (CSV, XML or zip) is required")
        async with transaction(ctx.sessionmaker) as session:
            return {"written": await fx.import_ecb(session, data)}
    return exact(await run(work()))


@router.get("/vat-rates", response_class=ExactJSONResponse)
async def vat_rates(country: str | None = None, on: str | None = None) -> Response:
    """The whole table, or with ``country`` and ``on`` the rates in force that day."""
    if country is not None or on is not None:
        async def work() -> dict[str, Any]:
            day = _req_date({"on": on}, "on")
            where = _req_str({"country": country}, "country").upper()
            rate, since = vat_rate_since(where, day)
            excise = excise_rate(where, day)
            return {"country": where, "on": day, "rate": rate, "valid_from": since,
                    "excise": None if excise is None else asdict(excise)}
        return exact(await run(work()))
    return exact({
        "vat": [{"country": c, "eu": c in EU_COUNTRIES, "valid_from": since, "rate": rate}
                for c, rows in VAT_RATES.items() for since, rate in rows],
        "excise": [{"country": c, "valid_from": x.since, "amount_per_kwh": x.amount,
                    "currency": x.currency, "uncertain": x.uncertain, "source": x.source}
                   for c, rows in EXCISE.items() for x in rows]})


def _tax_party(data: dict[str, Any], key: str) -> TaxParty:
    p = read_object(data.get(key), key)
    country = _str(p, "country")
    assert country is not None
    business = _flag(p, "business")
    return TaxParty(country.upper(), _str(p, "vat_id", required=False),
                    True if business is None else business)


@router.post("/tax-decision", response_class=ExactJSONResponse)
async def tax_decision(request: Request) -> Response:
    """``{"supplier": {"country", "vat_id"?}, "customer": {"country", "vat_id"?, "business"?},
    "country_of_supply", "on", "b2b_option"?, "net"?, "currency"?}``."""
    body = await read_json(request)

    async def work() -> dict[str, Any]:
        data = read_object(body)
        decision = determine(
            supplier=_tax_party(data, "supplier"), customer=_tax_party(data, "customer"),
            country_of_supply=_req_str(data, "country_of_supply"), on=_req_date(data, "on"),
            b2b_option=data.get("b2b_option", "REVERSE_CHARGE"))
        out = asdict(decision)
        net = decimal_field(data, "net")
        if net is not None:
            out["vat_amount"] = vat_amount(net, decision,
                                           _str(data, "currency", required=False) or "EUR")
        return out
    return exact(await run(work()))
