"""`hub pki ...`: the hub's own CA for OCPP security profiles 2 and 3 (``cpo_core.pki``).

    hub pki init                              CA + OCPP server certificate under HUB_DATA_DIR/pki
    hub pki issue-station-cert ST-1 --out d/  key + certificate for a station (CN = ST-1)
    hub pki revoke SERIAL                     refused at connect from now on (no restart needed)
    hub pki rotate                            new CA; the old one stays trusted
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from cpo_core import pki, pki_store, tls
from hub.app import SchemaNotMigrated, tool_context
from hub.cli.common import console, fail, settings_from_env
from hub.db.base import transaction

pki_app = typer.Typer(help="The hub's certificate authority (OCPP security profiles 2-3).",
                      no_args_is_help=True)


@pki_app.command("init")
def pki_init() -> None:
    """Create the CA and the OCPP server certificate (does nothing to an existing CA)."""
    settings = settings_from_env()
    directory = pki.pki_dir(settings.data_dir)
    existed = pki.ca_exists(directory)
    now = datetime.now(UTC)
    ca = pki.ensure_ca(directory, now)
    cert, _ = pki.ensure_server_certificate(directory, tls.server_names(settings), now)
    console(f"{'existing' if existed else 'new'} CA {pki.common_name(ca.cert.subject)} "
            f"serial {pki.serial_hex(ca.cert)}")
    console(f"CA certificate (install on stations): {directory / 'ca.pem'}")
    console(f"server certificate: {cert}")


@pki_app.command("issue-station-cert")
def pki_issue_station_cert(
    station_id: str,
    out: Path = typer.Option(..., help="Directory for STATION_ID.key, STATION_ID.pem, ca.pem"),
) -> None:
    """Issue a key and certificate for a station (CN = station id), recorded in the database."""
    settings = settings_from_env()
    now = datetime.now(UTC)
    ca = pki.ensure_ca(pki.pki_dir(settings.data_dir), now)
    key, cert = pki.issue_station_certificate(ca, station_id, now)

    async def record() -> None:
        async with tool_context(settings) as ctx, transaction(ctx.sessionmaker) as session:
            await pki_store.record_issued(session, cert, kind="station",
                                          station_id=station_id, now=now)

    try:
        asyncio.run(record())
    except SchemaNotMigrated as exc:
        fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    pki.write_file(out / f"{station_id}.key", pki.key_pem(key), private=True)
    pki.write_file(out / f"{station_id}.pem", pki.cert_pem(cert))
    pki.write_file(out / "ca.pem", ca.pem)
    console(f"station {station_id}: serial {pki.serial_hex(cert)}, valid until "
            f"{cert.not_valid_after_utc:%Y-%m-%d}, files in {out}")


@pki_app.command("revoke")
def pki_revoke(
    serial: str,
    reason: str | None = typer.Option(None, help="Why (kept with the serial)"),
) -> None:
    """Revoke a certificate serial (hex): profile-3 connections with it get 403."""
    try:
        pki.normalize_serial(serial)
    except ValueError:
        fail(f"not a hexadecimal serial: {serial}")

    async def go() -> bool:
        async with tool_context(settings_from_env()) as ctx, \
                transaction(ctx.sessionmaker) as session:
            return await pki_store.revoke(session, serial, datetime.now(UTC), reason)

    try:
        added = asyncio.run(go())
    except SchemaNotMigrated as exc:
        fail(str(exc))
        return
    console(f"serial {pki.normalize_serial(serial)} "
            f"{'revoked' if added else 'was already revoked'}")


@pki_app.command("rotate")
def pki_rotate() -> None:
    """New CA for new certificates; the previous CA stays trusted until it expires."""
    settings = settings_from_env()
    directory = pki.pki_dir(settings.data_dir)
    if not pki.ca_exists(directory):
        fail("no CA yet: run `hub pki init`")
    new = pki.rotate_ca(directory, datetime.now(UTC), tls.server_names(settings))
    console(f"new CA serial {pki.serial_hex(new.cert)}; previous CAs trusted: "
            f"{len(pki.previous_cas(directory, datetime.now(UTC)))}")
    console("restart the hub to serve the new server certificate; then install "
            f"{directory / 'ca.pem'} on stations and renew their certificates")
    sys.stdout.flush()
