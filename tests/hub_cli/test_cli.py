from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL")


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    for key in list(os.environ):
        if key.startswith("HUB_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_LOG_LEVEL", "WARNING")
    schema = None
    if PG_URL:
        from hub.cli.pg import create_schema

        schema = f"cli_{uuid.uuid4().hex[:10]}"
        create_schema(PG_URL, schema)
        monkeypatch.setenv("HUB_DATABASE_URL", PG_URL)
        monkeypatch.setenv("HUB_DATABASE_SCHEMA", schema)
    yield CliRunner()
    if PG_URL and schema:
        from hub.cli.pg import drop_schema

        drop_schema(PG_URL, schema)


def invoke(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_commands_refuse_an_unmigrated_database(cli_env: CliRunner) -> None:
    out = invoke(cli_env, "stations", "list", code=1)
    assert "hub db upgrade" in out


def test_stations_add_and_list_after_seed(cli_env: CliRunner) -> None:
    invoke(cli_env, "db", "upgrade")
    assert "seeded" in invoke(cli_env, "db", "seed-demo")
    assert "nothing seeded" in invoke(cli_env, "db", "seed-demo")  # idempotent
    invoke(cli_env, "stations", "add", "JELGAVA-7", "--password", "pw", "--location",
           "RIGA-001", "--connectors", "2")
    listing = invoke(cli_env, "stations", "list")
    assert "JELGAVA-7" in listing and "RIGA-001-A" in listing
    dup = invoke(cli_env, "stations", "add", "JELGAVA-7", code=1)
    assert "exists" in dup
    bad = invoke(cli_env, "stations", "add", "X", "--location", "NOWHERE", code=1)
    assert "unknown location" in bad


def test_issue_token_a_shows_it_once_and_stores_only_a_hash(cli_env: CliRunner) -> None:
    invoke(cli_env, "db", "upgrade")
    out = invoke(cli_env, "partners", "issue-token", "--name", "Elmo")
    token = out.split("token A: ")[1].split()[0]
    assert len(token) >= 32
    listing = invoke(cli_env, "partners", "list")
    assert "PLANNED" in listing and "Elmo" in listing
    assert token not in listing


def test_clearing_report_rejects_a_malformed_period(cli_env: CliRunner) -> None:
    invoke(cli_env, "db", "upgrade")
    out = invoke(cli_env, "clearing", "report", "--period", "2026-13", code=1)
    assert "period" in out.lower()
