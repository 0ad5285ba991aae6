"""`hub clearing ...` commands for clearing reference data (issue 6; clearing.fx, .entities).

    hub clearing fx-import FILE | --url URL      ECB eurofxref CSV/XML (daily or history, zip)
    hub clearing fx-rates [--currency SEK]       stored rates, newest first
    hub clearing entities list
    hub clearing entities add CODE --name N --country LV [--vat-id ..] [--iban ..] [--own]
    hub clearing entities map-party CC PARTY_ID ROLE CODE
    hub clearing entities assign-owner STATION|LOCATION TARGET_ID CODE --from YYYY-MM-DD

Registered on the clearing group by ``register(clearing_app)`` (hub/cli/__init__.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from clearing import entities as ents
from clearing import fx
from hub.cli.common import console, fail
from hub.cli.pricing import with_hub
from hub.context import HubContext
from hub.db.base import transaction

entities_app = typer.Typer(help="Legal entities, party mapping and owners.",
                           no_args_is_help=True)


def fx_import(
    file: Path | None = typer.Argument(None, help="An ECB eurofxref file (CSV, XML or zip)"),
    url: str | None = typer.Option(None, help="Fetch the file from this URL instead"),
) -> None:
    """Import ECB euro reference rates (SEK, NOK, DKK, PLN); idempotent."""
    if (file is None) == (url is None):
        fail("give a FILE or --url (one of them)")

    async def work(ctx: HubContext) -> int:
        return await fx.import_ecb_from_source(
            ctx, url=url, path=None if file is None else str(file))
    console(f"{with_hub(work)} rates written")


def fx_rates(currency: str | None = typer.Option(None, help="Only this currency"),
             limit: int = typer.Option(20, min=1)) -> None:
    """Stored reference rates, newest first (1 EUR = rate QUOTE)."""
    async def work(ctx: HubContext) -> list[fx.FxRate]:
        async with transaction(ctx.sessionmaker) as session:
            return await fx.list_rates(session, currency=currency, limit=limit)
    for r in with_hub(work):
        console(f"{r.rate_date.isoformat()}  {r.base}/{r.quote}  {r.rate:f}  {r.source}")


@entities_app.command("list")
def entities_list() -> None:
    """List legal entities."""
    async def work(ctx: HubContext) -> list[tuple[str, str, str, str, bool]]:
        async with transaction(ctx.sessionmaker) as session:
            return [(r.code, r.country, r.currency, r.name, r.is_own)
                    for r in await ents.list_entities(session)]
    console(f"{'code':<16} {'ctry':<4} {'ccy':<4} name")
    for code, country, ccy, name, own in with_hub(work):
        console(f"{code:<16} {country:<4} {ccy:<4} {name}{' (own)' if own else ''}")


@entities_app.command("add")
def entities_add(
    code: str,
    name: str = typer.Option(...),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-2"),
    vat_id: str | None = typer.Option(None),
    iban: str | None = typer.Option(None),
    bic: str | None = typer.Option(None),
    currency: str = typer.Option("EUR"),
    own: bool = typer.Option(False, "--own", help="An entity the hub's operator issues for"),
) -> None:
    """Create a legal entity."""
    data = {"name": name, "country": country, "vat_id": vat_id, "iban": iban, "bic": bic,
            "currency": currency}

    async def work(ctx: HubContext) -> None:
        async with transaction(ctx.sessionmaker) as session:
            await ents.create_entity(session, code, data, is_own=own)
    with_hub(work)
    console(f"legal entity {code} added")


@entities_app.command("map-party")
def entities_map_party(country_code: str, party_id: str, role: str, code: str) -> None:
    """Set the legal entity of a roaming party (e.g. EE ELM EMSP EE-ELM)."""
    async def work(ctx: HubContext) -> None:
        async with transaction(ctx.sessionmaker) as session:
            party = await ents.find_party(session, country_code, party_id, role)
            await ents.map_party(session, party.id, code)
    with_hub(work)
    console(f"party {country_code.upper()}*{party_id.upper()} ({role.upper()}) -> {code}")


@entities_app.command("assign-owner")
def entities_assign_owner(
    scope: str = typer.Argument(..., help="STATION or LOCATION"),
    target_id: str = typer.Argument(...),
    code: str = typer.Argument(..., help="The owner's legal entity code"),
    valid_from: str = typer.Option(..., "--from", help="YYYY-MM-DD"),
) -> None:
    """Make a legal entity the owner of a station or location from a date on."""
    try:
        day = date.fromisoformat(valid_from)
    except ValueError:
        fail(f"--from: not a date (YYYY-MM-DD): {valid_from!r}")
        return

    async def work(ctx: HubContext) -> None:
        async with transaction(ctx.sessionmaker) as session:
            await ents.assign_owner(session, scope.upper(), target_id, code, day)
    with_hub(work)
    console(f"{scope.lower()} {target_id} owned by {code} from {day.isoformat()}")


def register(clearing_app: typer.Typer) -> None:
    """Add these commands to the `hub clearing` group."""
    clearing_app.command("fx-import")(fx_import)
    clearing_app.command("fx-rates")(fx_rates)
    clearing_app.add_typer(entities_app, name="entities")
