"""`hub tariffs price`: price an OCPI 2.2.1 CDR under an OCPI 2.2.1 tariff, offline.

    hub tariffs price --tariff TARIFF.json --cdr CDR.json --time-zone Europe/Riga [--json]
    hub tariffs list                our own tariffs in the database
    hub tariffs put TARIFF.json     validate an OCPI 2.2.1 tariff and store it as ours

The CDR's cost fields are ignored; its charging periods and dimensions are priced (clearing.
tariffs). Without --json: the human-readable breakdown. With --json: the CDR with every cost
field filled (total_cost, total_fixed_cost, total_energy_cost, total_time_cost,
total_parking_cost, total_reservation_cost, each with excl_vat and incl_vat).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from clearing.admin import save_own_tariff
from clearing.admin_support import row_json
from clearing.tariffs import (
    compile_tariff,
    explanation_text,
    parse_tariff,
    parse_usage,
    price,
    priced_cdr,
)
from hub.cli.common import console, fail
from hub.cli.pricing import with_hub
from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import InvalidInput
from hub.services import tariffs as store

tariffs_app = typer.Typer(help="OCPI tariffs: price CDRs and explain the result.",
                          no_args_is_help=True)
_DECIMAL = re.compile(r'"__decimal__(-?[0-9.]+)"')


def _load(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        fail(f"{what} {path} is not JSON: {exc}")


def dumps(value: Any) -> str:
    """JSON with Decimals as exact JSON numbers (never through float)."""
    def default(obj: object) -> str:
        if isinstance(obj, Decimal):
            return f"__decimal__{obj:f}"
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    return _DECIMAL.sub(r"\1", json.dumps(value, default=default, indent=2))


@tariffs_app.command("price")
def price_cdr(
    tariff: Path = typer.Option(..., "--tariff", help="OCPI 2.2.1 Tariff object (JSON file)"),
    cdr: Path = typer.Option(..., "--cdr", help="OCPI 2.2.1 CDR object (JSON file)"),
    time_zone: str = typer.Option("UTC", "--time-zone",
                                  help="IANA time zone of the location (restrictions)"),
    as_json: bool = typer.Option(False, "--json", help="Print the CDR with its cost fields"),
) -> None:
    """Price a CDR's charging periods under a tariff and explain every cent."""
    tariff_data, cdr_data = _load(tariff, "tariff"), _load(cdr, "CDR")
    try:
        compiled = compile_tariff(parse_tariff(tariff_data), time_zone)
        priced = price(compiled, parse_usage(cdr_data))
    except InvalidInput as exc:
        fail(exc.message)
        return
    if as_json:
        console(dumps(priced_cdr(cdr_data, priced)))
    else:
        console(explanation_text(priced))


@tariffs_app.command("list")
def list_tariffs() -> None:
    """Our own tariffs: id, currency, type, elements, validity."""
    async def work(ctx: HubContext) -> list[dict[str, Any]]:
        async with transaction(ctx.sessionmaker) as session:
            return [row_json(t, p) for t, p in await store.list_tariff_rows(session, store.OWN)]
    rows = with_hub(work)
    console(f"{'id':<24} {'currency':<8} {'type':<16} {'elements':>8}  valid")
    for t in rows:
        valid = f"{t.get('start_date_time') or '-'} .. {t.get('end_date_time') or '-'}"
        console(f"{t['id']:<24} {t['currency']:<8} {t.get('type') or '-':<16} "
                f"{len(t.get('elements') or []):>8}  {valid}")


@tariffs_app.command("put")
def put_tariff(file: Path = typer.Argument(..., help="OCPI 2.2.1 Tariff object (JSON file)")
               ) -> None:
    """Validate an OCPI 2.2.1 tariff (errors name the field) and store it as ours (create or
    replace; country_code/party_id default to our CPO)."""
    data = _load(file, "tariff")
    if not isinstance(data, dict):
        fail("tariff: must be a JSON object")
    out, created = with_hub(lambda ctx: save_own_tariff(ctx, data, None, False))
    console(f"tariff {out['id']} {'created' if created else 'replaced'}")
