"""`hub simulate stations`: drive N stations with a real OCPP 1.6 client."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import typer

from hub.cli.common import console, settings_from_env

simulate_app = typer.Typer(help="Simulators for load and demos.", no_args_is_help=True)


@simulate_app.command("stations")
def simulate_stations_cmd(
    count: int = typer.Option(1, "-n", "--count", min=1, help="How many stations"),
    prefix: str = typer.Option("RIGA-001-", help="Station ids are PREFIX + A, B, ... or 1..N"),
    ids: str | None = typer.Option(None, help="Comma-separated station ids (overrides -n)"),
    url: str | None = typer.Option(None, help="OCPP base URL, e.g. ws://127.0.0.1:9000/ocpp"),
    password: str | None = typer.Option("demo-secret", help="Basic-auth password"),
    id_tag: str = typer.Option("LVBIE0000000001", help="The idTag to charge with"),
    kwh: str = typer.Option("20", help="Energy per session, kWh"),
    sessions: int = typer.Option(1, min=1, help="Sessions per station"),
) -> None:
    """Connect stations, boot them and run charging sessions; prints a JSON summary."""
    from cpo_core.simulator import simulate_stations

    settings = settings_from_env()
    base = url or f"ws://{settings.ocpp.host}:{settings.ocpp.port}/ocpp"
    if ids:
        station_ids = [s.strip() for s in ids.split(",") if s.strip()]
    elif count <= 26 and prefix.endswith("-"):
        station_ids = [f"{prefix}{chr(ord('A') + i)}" for i in range(count)]
    else:
        station_ids = [f"{prefix}{i + 1}" for i in range(count)]
    summary = asyncio.run(simulate_stations(base, station_ids, password, id_tag, Decimal(kwh),
                                            sessions))
    console(json.dumps(summary, indent=2, default=str))
