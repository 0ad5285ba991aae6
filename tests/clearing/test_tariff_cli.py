"""`hub tariffs price`: the spec's example CDR priced under its own tariff."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app
from tests.clearing.tariff_helpers import EXAMPLES

runner = CliRunner()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    cdr = json.loads((EXAMPLES / "cdr_example.json").read_text())
    tariff = tmp_path / "tariff.json"
    tariff.write_text(json.dumps(cdr["tariffs"][0]))
    return tariff, EXAMPLES / "cdr_example.json"


def test_json_fills_every_cost_field(tmp_path: Path) -> None:
    tariff, cdr = _files(tmp_path)
    result = runner.invoke(app, ["tariffs", "price", "--tariff", str(tariff), "--cdr", str(cdr),
                                 "--time-zone", "Europe/Brussels", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout, parse_float=Decimal)
    # mod_cdrs "Example of a CDR": 1.973 h at 2.00/h per 5 min -> 2 h = 4.00 / 4.40.
    assert out["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
    assert out["total_time_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
    for name in ("total_energy_cost", "total_parking_cost", "total_fixed_cost"):
        assert out[name] == {"excl_vat": Decimal("0.00"), "incl_vat": Decimal("0.00")}
    assert out["total_energy"] == Decimal("15.342")  # the CDR's measured totals stay
    assert out["id"] == "12345"


def test_text_breakdown(tmp_path: Path) -> None:
    tariff, cdr = _files(tmp_path)
    result = runner.invoke(app, ["tariffs", "price", "--tariff", str(tariff), "--cdr", str(cdr),
                                 "--time-zone", "Europe/Brussels"])
    assert result.exit_code == 0, result.output
    assert "elements[0].price_components[0]" in result.stdout
    assert "step_size 300 s: 7102.8 s billed as 7200 s" in result.stdout
    assert "total cost" in result.stdout and "4.40 incl. VAT" in result.stdout


def test_bad_tariff_names_the_field(tmp_path: Path) -> None:
    tariff = tmp_path / "t.json"
    tariff.write_text(json.dumps({"country_code": "BE", "party_id": "BEC", "id": "1",
                                  "currency": "EUR", "elements": []}))
    result = runner.invoke(app, ["tariffs", "price", "--tariff", str(tariff), "--cdr",
                                 str(EXAMPLES / "cdr_example.json")])
    assert result.exit_code == 1
    assert "elements: must be a non-empty list" in result.output


def test_unreadable_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tariffs", "price", "--tariff", str(tmp_path / "nope.json"),
                                 "--cdr", str(EXAMPLES / "cdr_example.json")])
    assert result.exit_code == 1
    assert "cannot read tariff" in result.output
