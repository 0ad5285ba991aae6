"""`hub clearing fx-import / fx-rates / entities ...` on a fresh migrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.hub_cli.test_cli import cli_env, invoke  # noqa: F401  (cli_env: a fixture)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def cli(request: pytest.FixtureRequest) -> CliRunner:
    """tests/hub_cli's environment (own data dir or PostgreSQL schema), migrated."""
    runner: CliRunner = request.getfixturevalue("cli_env")
    invoke(runner, "db", "upgrade")
    return runner


def test_fx_import_and_rates(cli: CliRunner) -> None:
    assert "24 rates written" in invoke(cli, "clearing", "fx-import",
                                        str(DATA / "eurofxref-hist.csv"))
    assert "0 rates written" in invoke(cli, "clearing", "fx-import",
                                       str(DATA / "eurofxref.zip"))
    out = invoke(cli, "clearing", "fx-rates", "--currency", "SEK", "--limit", "1")
    assert out.strip() == "2026-11-26  EUR/SEK  10.9435  ECB"
    assert "give a FILE or --url" in invoke(cli, "clearing", "fx-import", code=1)
    bad = invoke(cli, "clearing", "fx-import", str(DATA / "nope.csv"), code=1)
    assert "error: ECB rates file" in bad


def test_entities_party_mapping_and_owner(cli: CliRunner) -> None:
    invoke(cli, "clearing", "entities", "add", "LV-BIM", "--name", "Latvian network",
           "--country", "LV", "--vat-id", "LV40003000000", "--own")
    assert "exists" in invoke(cli, "clearing", "entities", "add", "LV-BIM", "--name", "x",
                              "--country", "LV", code=1)
    listing = invoke(cli, "clearing", "entities", "list")
    assert "LV-BIM" in listing and "(own)" in listing
    # The own CPO party LV*BIM exists once any tool context has run (ensure_own_parties).
    assert "-> LV-BIM" in invoke(cli, "clearing", "entities", "map-party", "LV", "BIM", "CPO",
                                 "LV-BIM")
    out = invoke(cli, "clearing", "entities", "assign-owner", "STATION", "RIGA-001-A",
                 "LV-BIM", "--from", "2026-01-01")
    assert "owned by LV-BIM from 2026-01-01" in out
    assert "unknown legal entity" in invoke(cli, "clearing", "entities", "assign-owner",
                                            "STATION", "X", "NOPE", "--from", "2026-01-01",
                                            code=1)
