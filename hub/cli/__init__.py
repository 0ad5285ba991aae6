"""The `hub` command line (typer). Part of the composition root: it may import every package.

    hub serve | db upgrade | db seed-demo | stations add/list | partners issue-token/register/
    list | tokens add | simulate stations | clearing report | tariffs price/list/put |
    price-models list/put/attach | repricing run | cdrs explain | demo
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import typer
import uvicorn

from hub.app import create_app
from hub.cli import manage, pki, pricing, simulate, tariffs
from hub.cli.common import console, settings_from_env
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.migrate import upgrade
from hub.gc_tuning import tune_gc
from hub.logging import configure_logging
from hub.seed import seed_demo_network
from hub.settings import Settings

app = typer.Typer(help="EV charging roaming hub and clearing house.", no_args_is_help=True,
                  add_completion=False)
db_app = typer.Typer(help="Database schema and demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(manage.stations_app, name="stations")
app.add_typer(manage.partners_app, name="partners")
app.add_typer(manage.tokens_app, name="tokens")
app.add_typer(manage.clearing_app, name="clearing")
from hub.cli import reference  # noqa: E402  (issue 6: clearing fx-import, entities)

reference.register(manage.clearing_app)
from hub.cli import house  # noqa: E402  (issue 6: clearing run/close/export/import-bank)

house.register(manage.clearing_app)
app.add_typer(simulate.simulate_app, name="simulate")
app.add_typer(tariffs.tariffs_app, name="tariffs")
app.add_typer(pki.pki_app, name="pki")
app.add_typer(pricing.models_app, name="price-models")
app.add_typer(pricing.repricing_app, name="repricing")
app.add_typer(pricing.cdrs_app, name="cdrs")


@app.callback()
def _configure() -> None:
    """Logs go to stderr, at HUB_LOG_LEVEL; command output alone goes to stdout."""
    settings = settings_from_env()
    configure_logging(settings.log_level, settings.log_format)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database schema to the latest revision."""
    settings = settings_from_env()
    upgrade(settings)
    console(f"database at head: {settings.effective_database_url.split('@')[-1]}")


async def _seed(settings: Settings) -> bool:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await seed_demo_network(session, settings, datetime.now(UTC))
    finally:
        await engine.dispose()


@db_app.command("seed-demo")
def db_seed_demo() -> None:
    """Seed the demo network if the database holds no network yet."""
    seeded = asyncio.run(_seed(settings_from_env()))
    console("demo network seeded" if seeded else "network present: nothing seeded")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="HTTP host (default HUB_HTTP__HOST)"),
    port: int | None = typer.Option(None, help="HTTP port (default HUB_HTTP__PORT)"),
    ocpp_port: int | None = typer.Option(None, help="OCPP port (default HUB_OCPP__PORT)"),
    migrate: bool = typer.Option(False, help="Upgrade the schema before serving"),
    seed_demo: bool = typer.Option(False, help="Seed the demo network if the database is empty"),
) -> None:
    """Serve HTTP (OCPI, admin API) and OCPP, and run the outbox worker and scheduler."""
    settings = settings_from_env()
    if host:
        settings.http.host = host
    if port:
        settings.http.port = port
    if ocpp_port:
        settings.ocpp.port = ocpp_port
    if migrate:
        upgrade(settings)
    if seed_demo:
        asyncio.run(_seed(settings))
    configure_logging(settings.log_level, settings.log_format)
    application = create_app(settings)
    tune_gc()
    uvicorn.run(application, host=settings.http.host, port=settings.http.port,
                log_level=settings.log_level.lower(), access_log=False)


@app.command()
def demo(
    keep: bool = typer.Option(False, help="Keep the demo's working directory"),
) -> None:
    """The whole journey on loopback: two hubs, a handshake, 20 kWh, a CDR, a report."""
    from hub.cli.demo import run_demo

    sys.exit(asyncio.run(run_demo(keep=keep)))


def main() -> None:
    app()
