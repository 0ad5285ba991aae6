"""`hub clearing run / close / export / import-bank / exceptions` on a fresh database."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models_clearing import JournalLineRow
from hub.settings import Settings
from tests.clearing.test_house_support import NOV, add_cdr, network

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL")

CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>S1</MsgId><CreDtTm>2026-12-20T02:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1-1</Id><CreDtTm>2026-12-20T02:00:00</CreDtTm>
<Acct><Id><IBAN>LV80BANK0000435195001</IBAN></Id></Acct>
<Ntry><NtryRef>E1</NtryRef><Amt Ccy="EUR">7.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Sts>BOOK</Sts><BookgDt><Dt>2026-12-19</Dt></BookgDt>
<NtryDtls><TxDtls><RmtInf><Ustrd>LV-BIM-000001</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><NtryRef>E2</NtryRef><Amt Ccy="EUR">1.23</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Sts>BOOK</Sts><BookgDt><Dt>2026-12-19</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
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
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    if PG_URL and schema:
        from hub.cli.pg import drop_schema

        drop_schema(PG_URL, schema)


def invoke(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


async def _seed() -> None:
    engine = make_engine(Settings())
    try:
        db = make_sessionmaker(engine)
        net = await network(db)
        await add_cdr(db, "EE-1", cpo=net.parties["LV*BIM/CPO"],
                      emsp=net.parties["EE*ELM/EMSP"], end=NOV, kwh="20", excl="7.00")
    finally:
        await engine.dispose()


async def _orphan_line() -> None:
    engine = make_engine(Settings())
    try:
        async with transaction(make_sessionmaker(engine)) as s:
            s.add(JournalLineRow(entry_pk=987654, account="1100", debit=Decimal(1),
                                 credit=Decimal(0), currency="EUR"))
    finally:
        await engine.dispose()


def test_run_close_export_and_import_bank(cli: CliRunner, tmp_path: Path) -> None:
    asyncio.run(_seed())
    assert "YYYY-MM" in invoke(cli, "clearing", "run", "--period", "2026-13", code=1)
    out = invoke(cli, "clearing", "run", "--period", "2026-11")
    assert "1 CDR(s) processed (accepted 1), 1 booked" in out
    out = invoke(cli, "clearing", "close", "--period", "2026-11")
    assert "1 period(s) closed, 0 already closed" in out and "LV-BIM-000001" in out
    out = invoke(cli, "clearing", "close", "--period", "2026-11")
    assert "0 period(s) closed, 1 already closed" in out
    target = tmp_path / "export"
    out = invoke(cli, "clearing", "export", "--period", "2026-11", "--entity", "LV-BIM",
                 "--out", str(target))
    assert "problem" not in out
    for name in ("invoices/LV-BIM-000001.pdf", "invoices/LV-BIM-000001.xml",
                 "statements-2026-11-LV-BIM.xlsx", "vat-summary-2026-11-LV-BIM.csv"):
        assert (target / name).is_file(), out
    csv = next(target.glob("statement-2026-11-LV-BIM-*.csv")).read_text("utf-8-sig")
    assert "EE-1" in csv and "LV-BIM-000001" in csv  # the line names its CDR and invoice
    vat = (target / "vat-summary-2026-11-LV-BIM.csv").read_text("utf-8-sig")
    assert "REVERSE_CHARGE" in vat
    camt = tmp_path / "camt.xml"
    camt.write_text(CAMT, encoding="utf-8")
    out = invoke(cli, "clearing", "import-bank", str(camt))
    assert "2 line(s) imported (1 matched)" in out and "unmatched: ['E2']" in out
    out = invoke(cli, "clearing", "import-bank", str(camt))
    assert "0 line(s) imported (0 matched), 2 already imported" in out
    out = invoke(cli, "clearing", "exceptions")
    assert "BANK_UNMATCHED" in out and "E2" in out
    out = invoke(cli, "clearing", "verify", "--period", "2026-11")
    assert "no orphans, every entry balances" in out
    asyncio.run(_orphan_line())  # by hand: no foreign key refuses it (migration 0017)
    result = cli.invoke(app, ["clearing", "verify"])
    assert result.exit_code == 1 and "1 line without entry: ids" in result.output
    # the existing report keeps working beside the clearing house
    assert ",EE-1," in invoke(cli, "clearing", "report", "--period", "2026-11")
