"""Pricing commands on the hub's database (issue 4): price models and where they apply, the
re-pricing of partners' CDRs, explanations of priced CDRs.

    hub price-models list | put FILE.json [--id ID] | attach ID --location/--station/--group/
                     --contract TARGET | links
    hub repricing run [--all]
    hub cdrs explain CDR_ID [--cpo CC*PID]
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import typer

from clearing.admin import explain_cdr
from clearing.admin_models import attach
from clearing.admin_repricing import reprice_row
from clearing.models import KINDS, SESSION_MODELS, parse_model
from hub.app import SchemaNotMigrated, tool_context
from hub.cli.common import console, fail, settings_from_env
from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import DomainError
from hub.services import price_links
from hub.services import tariffs as store

T = TypeVar("T")
models_app = typer.Typer(help="Contract-level price models and where they apply.",
                         no_args_is_help=True)
repricing_app = typer.Typer(help="Re-price partners' CDRs under their published tariffs.",
                            no_args_is_help=True)
cdrs_app = typer.Typer(help="Charge detail records: explanations.", no_args_is_help=True)


def load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        fail(f"{what} {path} is not JSON: {exc}")


def with_hub(work: Callable[[HubContext], Awaitable[T]]) -> T:
    """Run ``work`` with a tool context (no servers); domain errors -> ``error: ...``, 1."""
    async def go() -> T:
        async with tool_context(settings_from_env()) as ctx:
            return await work(ctx)
    try:
        return asyncio.run(go())
    except SchemaNotMigrated as exc:
        fail(str(exc))
    except DomainError as exc:
        fail(exc.message)
    raise AssertionError("unreachable")


@models_app.command("list")
def models_list() -> None:
    """List price models and where each is attached."""
    async def work(ctx: HubContext) -> None:
        async with transaction(ctx.sessionmaker) as session:
            rows = await store.list_price_models(session)
            links = await price_links.list_links(session)
        console(f"{'id':<20} {'kind':<18} {'currency':<8} attached to")
        for r in rows:
            where = ", ".join(f"{ln['scope'].lower()} {ln['target']}" for ln in links
                              if ln["model_id"] == r.model_id) or "-"
            console(f"{r.model_id:<20} {r.kind:<18} {r.data.get('currency', '-'):<8} {where}")
    with_hub(work)


@models_app.command("put")
def models_put(
    file: Path = typer.Argument(..., help="The model as JSON: {\"kind\": ..., fields}"),
    model_id: str | None = typer.Option(None, "--id", help="Model id (default: the file's id)"),
) -> None:
    """Validate a price model and store it (create or replace)."""
    data = load_json(file, "price model")
    if not isinstance(data, dict):
        fail("price model: must be a JSON object")
    key = model_id or data.get("id")
    if not isinstance(key, str) or not key or len(key) > 36:
        fail("id: give --id or an \"id\" in the file (1 to 36 characters)")

    async def work(ctx: HubContext) -> bool:
        model = parse_model(data)
        async with transaction(ctx.sessionmaker) as session:
            _, created = await store.save_price_model(session, str(key), model.kind,
                                                      model.to_json(), ctx.clock())
        return created
    created = with_hub(work)
    console(f"price model {key} {'created' if created else 'replaced'}")


@models_app.command("attach")
def models_attach(
    model_id: str = typer.Argument(..., help="Price model id"),
    location: str | None = typer.Option(None, "--location", help="Our location id"),
    station: str | None = typer.Option(None, "--station", help="Station id"),
    group: str | None = typer.Option(None, "--group", help="Token group id"),
    contract: str | None = typer.Option(None, "--contract", help="Token contract id"),
) -> None:
    """Attach a session price model (most specific wins: contract > group > station >
    location); attaching to a target that has a model replaces it."""
    given = [(s, t) for s, t in ((price_links.LOCATION, location),
                                 (price_links.STATION, station), (price_links.GROUP, group),
                                 (price_links.CONTRACT, contract)) if t]
    if len(given) != 1:
        fail("give exactly one of --location, --station, --group, --contract")
    scope, target = given[0]
    out = with_hub(lambda ctx: attach(ctx, model_id, {"scope": scope, "target": target}))
    console(f"price model {out['model_id']} attached to {out['scope'].lower()} "
            f"{out['target']}")


@models_app.command("kinds")
def models_kinds() -> None:
    """The model kinds, and which of them can be attached (they price a session)."""
    for kind in sorted(KINDS):
        console(f"{kind:<18} {'session (attachable)' if kind in SESSION_MODELS else 'period'}")


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


@repricing_app.command("run")
def repricing_run(
    every: bool = typer.Option(False, "--all", help="Also re-price CDRs re-priced before"),
) -> None:
    """Re-price received CDRs (default: those never re-priced) and print the results."""
    async def work(ctx: HubContext) -> list[tuple[Any, Any]]:
        async with transaction(ctx.sessionmaker) as session:
            rows = await store.received_cdr_rows(session, only_new=not every)
            return [(await reprice_row(session, r, ctx.clock()), r) for r in rows]
    results = with_hub(work)
    console(f"{'cdr':<24} {'status':<18} {'tariff':<14} {'claimed':>10} {'computed':>10} "
            f"{'diff':>8} message")
    for rep, cdr in results:
        console(f"{cdr.cdr_id:<24} {rep.status:<18} {_cell(rep.tariff_id):<14} "
                f"{_cell(rep.claimed_excl_vat):>10} {_cell(rep.computed_excl_vat):>10} "
                f"{_cell(rep.difference_excl_vat):>8} {rep.message or ''}")
    counts = Counter(rep.status for rep, _ in results)
    console(f"re-priced {len(results)} CDRs: "
            + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))


@cdrs_app.command("explain")
def cdrs_explain(
    cdr_id: str = typer.Argument(..., help="The CDR's OCPI id"),
    cpo: str | None = typer.Option(None, "--cpo", help="CC*PID when several CPOs use the id"),
) -> None:
    """How a CDR was priced, line by line (ours: re-derived; a partner's: its re-pricing)."""
    async def work(ctx: HubContext) -> dict[str, Any]:
        async with transaction(ctx.sessionmaker) as session:
            return await explain_cdr(session, ctx, await store.find_cdr_row(session, cdr_id,
                                                                             cpo))
    out = with_hub(work)
    console(str(out.get("text") or ""))
    if out.get("consistent") is False:
        console("WARNING: the recomputation differs from the stored total")
