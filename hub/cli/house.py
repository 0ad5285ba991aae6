"""`hub clearing ...` commands of the clearing house (issue 6; clearing.house).

    hub clearing run --period 2026-11          validate, rate, accept and book the CDRs
    hub clearing close --period 2026-11        run, then close (invoices, netting, lock);
                                               periods already closed are left as they are
    hub clearing export --period 2026-11 --entity LV-BIM --out DIR
    hub clearing import-bank FILE              camt.053: match payments (idempotent)
    hub clearing exceptions                    what finance must look at
    hub clearing verify [--period 2026-11]     orphans and unbalanced entries (exit 1 if any)

Registered on the clearing group by ``register(clearing_app)`` (hub/cli/__init__.py). Long runs
show a rich progress bar on stderr (stdout keeps the summary only).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from clearing.finance.sepa import parse_camt053
from clearing.house import jobs, queries
from clearing.house.exports import export_period
from clearing.house.integrity import IntegrityReport
from clearing.house.periods import parse_label
from clearing.house.settle import import_bank_lines
from hub.cli.common import console, fail
from hub.cli.pricing import with_hub
from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import InvalidInput

PERIOD = typer.Option(..., "--period", help="Settlement month, YYYY-MM")


@contextmanager
def _bar(title: str) -> Iterator[Callable[[int, int], None]]:
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(title, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
        yield update


def _check(period: str) -> None:
    try:
        parse_label(period)
    except InvalidInput as exc:
        fail(exc.message)


def clearing_run(period: str = PERIOD,
                 batch: int = typer.Option(2000, min=100, help="CDRs per transaction")) -> None:
    """Validate, rate, accept or dispute, and book the CDRs that ended up to the period's end."""
    _check(period)

    async def work(ctx: HubContext) -> jobs.RunResult:
        with _bar(f"clearing {period}") as bar:
            return await jobs.run_period(ctx, period, batch_size=batch, progress=bar)
    result = with_hub(work)
    states = ", ".join(f"{k} {v}" for k, v in sorted(result.by_state.items())) or "nothing"
    console(f"{period}: {result.processed} CDR(s) processed ({states}), "
            f"{result.booked} booked")


def clearing_close(period: str = PERIOD,
                   batch: int = typer.Option(2000, min=100, help="CDRs per transaction")
                   ) -> None:
    """Run the period, then close its open periods: invoices, credit notes, netting, lock.
    Closing a closed period again changes nothing (it is reported as already closed)."""
    _check(period)

    async def work(ctx: HubContext) -> tuple[jobs.RunResult, jobs.CloseResult]:
        with _bar(f"clearing {period}") as bar:
            return await jobs.close_period_label(ctx, period, batch_size=batch, progress=bar)
    ran, closed = with_hub(work)
    console(f"{period}: {ran.processed} CDR(s) processed; {len(closed.closed)} period(s) "
            f"closed, {len(closed.already_closed)} already closed")
    for label, items in (("invoices", closed.invoices), ("credit notes", closed.credit_notes),
                         ("nettings", closed.nettings)):
        if items:
            console(f"  {label}: {', '.join(items)}")


def clearing_export(period: str = PERIOD,
                    entity: str = typer.Option(..., help="Legal entity code, e.g. LV-BIM"),
                    out: Path = typer.Option(..., help="Directory to write the files to")
                    ) -> None:
    """Statements, invoices (PDF, UBL), remittances, pain.001 and the VAT summary."""
    _check(period)

    async def work(ctx: HubContext) -> list[str]:
        async with transaction(ctx.sessionmaker) as session:
            result = await export_period(session, period, entity, ctx.clock())
        await asyncio.to_thread(result.write, out)
        for problem in result.problems:
            console(f"  problem: {problem}")
        return sorted(result.files)
    files = with_hub(work)
    console(f"{len(files)} file(s) written to {out}")
    for name in files:
        console(f"  {name}")


def clearing_import_bank(file: Path = typer.Argument(..., help="camt.053 XML file")) -> None:
    """Match a bank statement's lines to invoices and nettings; re-importing is a no-op."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")

    async def work(ctx: HubContext) -> dict[str, object]:
        lines = parse_camt053(data)
        async with transaction(ctx.sessionmaker) as session:
            return (await import_bank_lines(session, lines, ctx.clock())).json()
    r = with_hub(work)
    console(f"{r['imported']} line(s) imported ({r['matched']} matched), "
            f"{r['duplicates']} already imported; unmatched: {r['unmatched'] or '-'}; "
            f"ambiguous: {r['ambiguous'] or '-'}")


def clearing_exceptions(all_: bool = typer.Option(False, "--all", help="Resolved ones too")
                        ) -> None:
    """Open exceptions for finance (failed checks, unmatched bank lines)."""
    async def work(ctx: HubContext) -> list[dict[str, object]]:
        async with transaction(ctx.sessionmaker) as session:
            return await queries.exceptions(session, None if all_ else "OPEN", 1000)
    rows = with_hub(work)
    for e in rows:
        console(f"{e['id']:>6} {e['status']:<8} {e['kind']:<16} {e['message']}")
    if not rows:
        console("no exceptions")


def clearing_verify(period: str | None = typer.Option(
        None, "--period", help="Settlement month, YYYY-MM (default: every period)")) -> None:
    """Check the clearing and ledger rows (which have no foreign keys): orphans, unbalanced
    entries. Exit code 1 when something is found."""
    if period is not None:
        _check(period)

    async def work(ctx: HubContext) -> IntegrityReport:
        return await jobs.verify_period(ctx, period)
    report = with_hub(work)
    for f in report.findings:
        console(f"  {f.message}")
    if not report.ok:
        fail(f"{period or 'all periods'}: {len(report.findings)} kind(s) of problem found")
    console(f"{period or 'all periods'}: no orphans, every entry balances")


def register(clearing_app: typer.Typer) -> None:
    """Add these commands to the `hub clearing` group."""
    clearing_app.command("run")(clearing_run)
    clearing_app.command("close")(clearing_close)
    clearing_app.command("export")(clearing_export)
    clearing_app.command("import-bank")(clearing_import_bank)
    clearing_app.command("exceptions")(clearing_exceptions)
    clearing_app.command("verify")(clearing_verify)
