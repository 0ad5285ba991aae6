"""`hub tariffs list/put`, `hub price-models list/put/attach`, `hub repricing run`,
`hub cdrs explain` against a migrated database (SQLite, or PostgreSQL with
HUB_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from clearing.admin_support import tariff_fields, validated
from hub.app import tool_context
from hub.db.base import transaction
from hub.services import tariffs as store
from hub.settings import Settings
from tests.clearing.admin_helpers import (
    T0,
    charge,
    received_cdr_json,
    seed_with_partner,
    store_received,
)
from tests.hub_cli.test_cli import cli_env, invoke

__all__ = ["cli_env"]
EE_TARIFF = {"country_code": "EE", "party_id": "ELM", "id": "EE-AC", "currency": "EUR",
             "elements": [{"price_components": [{"type": "FLAT", "price": "0.50"},
                                                {"type": "ENERGY", "price": "0.25"}]}]}


async def _seed_partner() -> None:
    async with tool_context(Settings()) as ctx:
        partner_id = await seed_with_partner(ctx)
        # 10 kWh x 0.25 + 0.50 = 3.00 excl. VAT
        await store_received(ctx, partner_id, received_cdr_json("CDR-OK", "3.00"))
        await store_received(ctx, partner_id, received_cdr_json("CDR-HIGH", "3.50"))
        tariff, stored = validated(dict(EE_TARIFF))
        async with transaction(ctx.sessionmaker) as s:
            party = await store.tariff_party(s, "EE", "ELM", store.PARTNER)
            await store.save_tariff(s, party, "EE-AC", stored, tariff_fields(tariff),
                                    source=store.PARTNER, now=T0)


async def _charge() -> str:
    async with tool_context(Settings()) as ctx:
        return await charge(ctx, kwh=20, minutes=30)


def _file(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_tariffs_put_and_list(cli_env: CliRunner, tmp_path: Path) -> None:
    invoke(cli_env, "db", "upgrade")
    asyncio.run(_seed_partner())
    tariff = {"id": "AC-NIGHT", "currency": "EUR", "type": "REGULAR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.2, "step_size": 1}],
         "restrictions": {"start_time": "22:00", "end_time": "06:00"}}]}
    assert "tariff AC-NIGHT created" in invoke(cli_env, "tariffs", "put",
                                               _file(tmp_path, "t.json", tariff))
    assert "replaced" in invoke(cli_env, "tariffs", "put", _file(tmp_path, "t.json", tariff))
    listing = invoke(cli_env, "tariffs", "list")
    assert "AC-NIGHT" in listing and "REGULAR" in listing
    assert "EE-AC" not in listing  # a partner's tariff is not ours
    bad = {**tariff, "elements": [{"price_components": [{"type": "ENERGY", "price": -1,
                                                         "step_size": 1}]}]}
    out = invoke(cli_env, "tariffs", "put", _file(tmp_path, "bad.json", bad), code=1)
    assert "elements[0].price_components[0].price: must not be negative" in out


def test_price_models_attach_price_our_session_and_cdrs_explain(
        cli_env: CliRunner, tmp_path: Path) -> None:
    invoke(cli_env, "db", "upgrade")
    asyncio.run(_seed_partner())
    model = {"kind": "start_hourly_kwh", "currency": "EUR", "start_fee": "1.00",
             "hourly_fee": "2.00", "kwh_price": "0.25", "vat": 21}
    path = _file(tmp_path, "m.json", model)
    assert "price model SE-OWNER created" in invoke(cli_env, "price-models", "put", path,
                                                    "--id", "SE-OWNER")
    out = invoke(cli_env, "price-models", "put", _file(tmp_path, "x.json", {
        **model, "kwh_price": "x"}), "--id", "BAD", code=1)
    assert "kwh_price: must be a number" in out
    sub = {"id": "SUB", "kind": "subscription", "currency": "EUR", "monthly_fee": 20,
           "included_kwh": 100, "extra_kwh_price": "0.25"}
    invoke(cli_env, "price-models", "put", _file(tmp_path, "s.json", sub))
    assert "prices a period" in invoke(cli_env, "price-models", "attach", "SUB",
                                       "--location", "RIGA-001", code=1)
    assert "exactly one" in invoke(cli_env, "price-models", "attach", "SE-OWNER",
                                   "--location", "RIGA-001", "--group", "VIP", code=1)
    assert "attached to location RIGA-001" in invoke(
        cli_env, "price-models", "attach", "SE-OWNER", "--location", "RIGA-001")
    listing = invoke(cli_env, "price-models", "list")
    assert "SE-OWNER" in listing and "location RIGA-001" in listing and "subscription" in listing
    cdr_id = asyncio.run(_charge())
    text = invoke(cli_env, "cdrs", "explain", cdr_id)
    # 1.00 + 0.5 h x 2.00 + 20 kWh x 0.25 = 7.00, 21 % VAT -> 8.47
    assert "priced by price model SE-OWNER" in text and "7.00 EUR excl. VAT, 8.47" in text
    assert "unknown CDR NOPE" in invoke(cli_env, "cdrs", "explain", "NOPE", code=1)


def test_repricing_run_prints_the_results_table(cli_env: CliRunner) -> None:
    invoke(cli_env, "db", "upgrade")
    asyncio.run(_seed_partner())
    out = invoke(cli_env, "repricing", "run")
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.startswith("CDR-")}
    assert lines["CDR-OK"][1:3] == ["OK", "EE-AC"]
    assert lines["CDR-HIGH"][1] == "OUTSIDE_TOLERANCE" and lines["CDR-HIGH"][5] == "0.50"
    assert "re-priced 2 CDRs: OK 1, OUTSIDE_TOLERANCE 1" in out
    assert "re-priced 0 CDRs: none" in invoke(cli_env, "repricing", "run")
    assert "re-priced 2 CDRs" in invoke(cli_env, "repricing", "run", "--all")
    text = invoke(cli_env, "cdrs", "explain", "CDR-HIGH")
    assert "EE-AC" in text
