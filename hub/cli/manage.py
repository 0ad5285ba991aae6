"""Operator commands: stations, partners, tokens, clearing."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from hub.app import SchemaNotMigrated, tool_context
from hub.cli.common import console, fail, in_uow, settings_from_env
from hub.domain import DomainError, PartyRef, TokenInfo
from hub.services import network, partners, tokens

stations_app = typer.Typer(help="Charging stations (OCPP).", no_args_is_help=True)
partners_app = typer.Typer(help="Roaming partners (OCPI).", no_args_is_help=True)
tokens_app = typer.Typer(help="Our eMSP's driver tokens.", no_args_is_help=True)
clearing_app = typer.Typer(help="Clearing: reports for finance.", no_args_is_help=True)


def _run(coro_fn):  # type: ignore[no-untyped-def]
    try:
        return asyncio.run(coro_fn())
    except SchemaNotMigrated as exc:
        fail(str(exc))
    except DomainError as exc:
        fail(exc.message)


@stations_app.command("add")
def stations_add(
    station_id: str,
    password: str | None = typer.Option(None, help="Basic-auth password (security profile 1)"),
    location: str | None = typer.Option(None, help="Location id the station stands at"),
    connectors: int = typer.Option(1, min=1, max=32),
) -> None:
    """Register a station so that it may connect."""

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            await in_uow(ctx, lambda s: network.add_station(
                s, station_id, password=password, location_id=location,
                connectors=connectors, now=datetime.now(UTC)))
        console(f"station {station_id} added")

    _run(go)


@stations_app.command("list")
def stations_list() -> None:
    """List stations with their connection state."""

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            rows = await in_uow(ctx, network.list_stations)
        console(f"{'station':<24} {'connected':<9} {'vendor':<16} {'model':<16} last seen")
        for r in rows:
            console(f"{r.id:<24} {'yes' if r.connected else 'no':<9} {r.vendor or '-':<16} "
                    f"{r.model or '-':<16} {r.last_seen_at.isoformat() if r.last_seen_at else '-'}")

    _run(go)


@partners_app.command("issue-token")
def partners_issue_token(name: str = typer.Option(..., help="The partner's name")) -> None:
    """Issue a token A for a partner to register with us (shown once; store it safely)."""

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            row, token = await in_uow(ctx, lambda s: partners.issue_token_a(
                s, name, datetime.now(UTC)))
        console(f"partner {row.id} ({name}) token A: {token}")
        console(f"versions URL to give them: {ctx.settings.public_url}/ocpi/versions")

    _run(go)


@partners_app.command("register")
def partners_register(
    versions_url: str = typer.Option(..., help="The partner's OCPI versions URL"),
    token: str = typer.Option(..., help="The token A the partner gave us"),
) -> None:
    """Register with a partner (we are the sender of the credentials handshake).

    Our HTTP server must be running: the partner calls our versions endpoint back.
    """
    from ocpi.handshake import register_with_partner

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            row = await register_with_partner(ctx, versions_url, token)
        console(f"registered with partner {row.id} ({row.name}): {row.status}")

    _run(go)


@partners_app.command("list")
def partners_list() -> None:
    """List partners and their connection status."""

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            rows = await in_uow(ctx, partners.list_partners)
            for r in rows:
                p = partners.public_partner(r)
                console(f"{p['id']:>4} {p['status']:<10} {p['name']:<30} "
                        f"{', '.join(p['parties'])}")

    _run(go)


@tokens_app.command("add")
def tokens_add(
    uid: str,
    contract_id: str = typer.Option(...),
    token_type: str = typer.Option("RFID", "--type"),
    whitelist: str = typer.Option("ALLOWED"),
) -> None:
    """Add (or update) a token of our own eMSP."""

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            emsp = ctx.settings.own_party("EMSP")
            if emsp is None:
                fail("this hub runs no eMSP party (HUB_PARTIES)")
                return
            info = TokenInfo(owner=PartyRef(emsp.country_code, emsp.party_id, "EMSP"), uid=uid,
                             type=token_type, contract_id=contract_id, issuer=emsp.name,
                             whitelist=whitelist)
            await in_uow(ctx, lambda s: tokens.upsert_token(s, info, datetime.now(UTC)))
        console(f"token ****{uid[-4:]} stored")

    _run(go)


@clearing_app.command("report")
def clearing_report(
    period: str = typer.Option(..., help="Billing month, YYYY-MM"),
    output: Path | None = typer.Option(None, help="CSV file to write (default: stdout)"),
) -> None:
    """CSV for finance: one line per CDR of the period and a total per counterparty."""
    from clearing.report import build_report, write_csv

    async def go() -> None:
        async with tool_context(settings_from_env()) as ctx:
            tz = ctx.settings.clearing.timezone
            report = await in_uow(ctx, lambda s: build_report(s, period, tz))
        if output is None:
            write_csv(report, sys.stdout)
        else:
            with output.open("w", newline="", encoding="utf-8") as fh:
                write_csv(report, fh)
            console(f"report written to {output}")

    _run(go)
