"""Integrity of the high-volume clearing and ledger rows, which have no foreign keys.

A month writes about a million CDR clearing rows, history rows and journal entries and two to
three million ledger lines; their foreign keys cost more database time than the rest of the
run (migration 0017 dropped them). They are written by one code path, one transaction per
batch (``run``, ``fastpath``, ``store``, ``close``, ``settle``); ``verify`` checks afterwards
what the foreign keys checked row by row, and that every entry balances:

    clearing_without_cdr       a clearing row whose CDR is gone
    clearing_without_period    a clearing row naming an unknown period
    clearing_without_entity    a clearing row naming an unknown supplier or customer
    clearing_without_line      a clearing row naming an unknown invoice line
    history_without_clearing   a history row of an unknown clearing row (or invoice line)
    entry_without_cdr          a journal entry of an unknown CDR
    entry_without_period       a journal entry naming an unknown period
    line_without_entry         a ledger line of an unknown journal entry
    line_without_entity        a ledger line naming an unknown entity or counterparty
    unbalanced_entry           an entry without lines, or whose debits and credits differ in
                               one of its currencies

Scope: the rows of the given periods, plus every row written since the first of them (an
orphan whose period or parent is unknown belongs to no period): at a close, about a month of
rows; ``periods=None`` checks the whole database. One pass per table (hash joins; references
to small tables as hashed sub-plans); only offending rows come back to Python, which counts
them and keeps the first ``SAMPLE`` ids per kind. Balances: on PostgreSQL a weighted checksum
per currency first (``_unbalanced``), the lines grouped by entry only when it is not zero; on
SQLite (decimals stored as text) the lines are summed as ``Decimal`` in Python.

Run at the end of every ``close_month`` (what it finds becomes an ``INTEGRITY`` exception for
finance, the close is not undone) and by ``hub clearing verify --period YYYY-MM``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, cast, false, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.db.models import CdrRow
from hub.db.models_clearing import (
    CdrClearingRow,
    CdrTransitionRow,
    InvoiceLineRow,
    JournalEntryRow,
    JournalLineRow,
    SettlementPeriodRow,
)
from hub.db.models_clearing_ref import LegalEntityRow

SAMPLE = 20
ZERO = Decimal(0)
KINDS = (
    "clearing_without_cdr",
    "clearing_without_period",
    "clearing_without_entity",
    "clearing_without_line",
    "history_without_clearing",
    "entry_without_cdr",
    "entry_without_period",
    "line_without_entry",
    "line_without_entity",
    "unbalanced_entry",
)


@dataclass
class Finding:
    kind: str
    count: int
    ids: list[int]  # the first ``SAMPLE`` ids of the offending rows

    @property
    def message(self) -> str:
        more = f" (first {len(self.ids)})" if self.count > len(self.ids) else ""
        return (
            f"{self.count} {self.kind.replace('_', ' ')}: ids {', '.join(map(str, self.ids))}{more}"
        )


@dataclass
class IntegrityReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def json(self) -> dict[str, Any]:
        return {f.kind: {"count": f.count, "ids": f.ids} for f in self.findings}


def _not_in(col: Any, model: Any) -> ColumnElement[bool]:
    """``col`` names no row of ``model``, a small table (a hashed sub-plan on PostgreSQL);
    NULL is no reference, so not missing."""
    return and_(col.is_not(None), col.not_in(select(model.id)))


async def verify(session: AsyncSession, periods: Sequence[int] | None = None) -> IntegrityReport:
    """Orphans and unbalanced entries among the rows of ``periods`` (None: all rows)."""
    report = IntegrityReport()
    if periods is not None and not periods:
        return report
    cc, je, jl, tr = CdrClearingRow, JournalEntryRow, JournalLineRow, CdrTransitionRow
    in_c: ColumnElement[bool] = true() if periods is None else cc.period_pk.in_(periods)
    in_e: ColumnElement[bool] = true() if periods is None else je.period_pk.in_(periods)
    # Rows written since the scope's first rows (ids after the last row before them): an
    # orphan whose parent or period is gone belongs to no period.
    c_after = 0 if periods is None else await _after(session, cc, in_c)
    e_after = 0 if periods is None else await _after(session, je, in_e)
    if c_after is None and e_after is None:
        return report

    def since(col: Any, after: int | None) -> ColumnElement[bool]:
        return col > after if after is not None else false()

    # One pass per table; each query returns only offending rows, with a flag per kind.
    cdr = aliased(CdrRow)
    no_cdr = and_(in_c, cdr.id.is_(None))
    no_period = and_(since(cc.id, c_after), _not_in(cc.period_pk, SettlementPeriodRow))
    no_entity = and_(
        in_c, or_(_not_in(cc.supplier_pk, LegalEntityRow), _not_in(cc.customer_pk, LegalEntityRow))
    )
    no_line = and_(in_c, _not_in(cc.invoice_line_pk, InvoiceLineRow))
    e_cdr = aliased(CdrRow)
    e_no_cdr = and_(in_e, je.cdr_pk.is_not(None), e_cdr.id.is_(None))
    e_no_period = and_(since(je.id, e_after), _not_in(je.period_pk, SettlementPeriodRow))
    entry = aliased(JournalEntryRow)
    l_no_entry = entry.id.is_(None)
    l_no_entity = or_(
        _not_in(jl.entity_pk, LegalEntityRow), _not_in(jl.counterparty_pk, LegalEntityRow)
    )
    parent = aliased(CdrClearingRow)
    queries: list[tuple[tuple[str, ...], Any]] = [
        (
            (
                "clearing_without_cdr",
                "clearing_without_period",
                "clearing_without_entity",
                "clearing_without_line",
            ),
            select(cc.id, no_cdr, no_period, no_entity, no_line)
            .outerjoin(cdr, cdr.id == cc.cdr_pk)
            .where(or_(in_c, since(cc.id, c_after)), or_(no_cdr, no_period, no_entity, no_line)),
        ),
        (
            ("history_without_clearing",),
            select(tr.id, true())
            .outerjoin(parent, parent.id == tr.clearing_pk)
            .where(since(tr.clearing_pk, c_after), parent.id.is_(None)),
        ),
        # rows of a whole invoice line: few (one per line and move), all of them checked
        (
            ("history_without_clearing",),
            select(tr.id, true()).where(
                tr.clearing_pk.is_(None),
                or_(tr.invoice_line_pk.is_(None), _not_in(tr.invoice_line_pk, InvoiceLineRow)),
            ),
        ),
        (
            ("entry_without_cdr", "entry_without_period"),
            select(je.id, e_no_cdr, e_no_period)
            .outerjoin(e_cdr, e_cdr.id == je.cdr_pk)
            .where(or_(in_e, since(je.id, e_after)), or_(e_no_cdr, e_no_period)),
        ),
        (
            ("line_without_entry", "line_without_entity"),
            select(jl.id, l_no_entry, l_no_entity)
            .outerjoin(entry, entry.id == jl.entry_pk)
            .where(since(jl.entry_pk, e_after), or_(l_no_entry, l_no_entity)),
        ),
    ]
    found: dict[str, Finding] = {}
    if (await session.connection()).dialect.name == "postgresql":
        # hash joins over a month of rows: more than the 4 MB default (this transaction only)
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    for kinds, stmt in queries:
        result = await session.stream(stmt.execution_options(yield_per=5000))
        async for part in result.partitions():
            for row_id, *flags in part:
                for kind, flag in zip(kinds, flags, strict=True):
                    if flag:
                        f = found.setdefault(kind, Finding(kind, 0, []))
                        f.count += 1
                        if len(f.ids) < SAMPLE:
                            f.ids.append(row_id)
    if (await session.connection()).dialect.name == "postgresql":
        unbalanced = await _unbalanced(session, in_e, since(jl.entry_pk, e_after))
    else:
        unbalanced = await _unbalanced_in_python(session, in_e)
    if unbalanced:
        found["unbalanced_entry"] = Finding(
            "unbalanced_entry", len(unbalanced), sorted(unbalanced)[:SAMPLE]
        )
    for f in found.values():
        f.ids.sort()
    report.findings = [found[k] for k in KINDS if k in found]
    return report


async def _unbalanced_in_python(session: AsyncSession, in_e: ColumnElement[bool]) -> list[int]:
    """``_unbalanced`` for SQLite, which stores decimals as text and would sum them as
    floats: the lines are summed here as ``Decimal``, in entry order."""
    jl, je = JournalLineRow, JournalEntryRow
    stmt = (
        select(je.id, jl.currency, jl.debit, jl.credit)
        .outerjoin(jl, jl.entry_pk == je.id)
        .where(in_e)
        .order_by(je.id)
        .execution_options(yield_per=5000)
    )
    out: list[int] = []
    current: int | None = None
    sums: dict[str | None, Decimal] = {}
    result = await session.stream(stmt)

    def done(entry: int | None, sums: dict[str | None, Decimal]) -> None:
        if entry is not None and (None in sums or any(sums.values())):
            out.append(entry)

    async for part in result.partitions():
        for entry, ccy, debit, credit in part:
            if entry != current:
                done(current, sums)
                current, sums = entry, {}
            sums[ccy] = sums.get(ccy, ZERO) + (debit or ZERO) - (credit or ZERO)
    done(current, sums)
    return out


async def _after(session: AsyncSession, model: Any, in_scope: ColumnElement[bool]) -> int | None:
    """The id of the last row of ``model`` before the first one in scope (0: none before;
    None: nothing in scope)."""
    first = await session.scalar(select(func.min(model.id)).where(in_scope))
    if first is None:
        return None
    return (await session.scalar(select(func.max(model.id)).where(model.id < first))) or 0


async def _unbalanced(
    session: AsyncSession, in_e: ColumnElement[bool], lines_since: ColumnElement[bool]
) -> list[int]:
    """PostgreSQL (exact NUMERIC): the entries of the scope without lines, or whose debits
    and credits differ in a currency.

    Grouping two million lines by entry takes seconds, so first a weighted checksum per
    currency over the lines written since the scope began: sum((debit - credit) * w(entry))
    with a weight of 1 to 1,000,003 per entry. It is exactly 0 when every entry balances;
    one unbalanced entry always makes it non-zero (several would have to cancel exactly
    under their weights). Only then are the lines grouped to name the entries."""
    jl, je = JournalLineRow, JournalEntryRow
    line = aliased(JournalLineRow)
    out = set(
        (
            await session.scalars(
                select(je.id).outerjoin(line, line.entry_pk == je.id).where(in_e, line.id.is_(None))
            )
        ).all()
    )
    weight = (cast(jl.entry_pk, BigInteger) * 2654435761) % 1000003 + 1
    sums = (
        await session.execute(
            select(jl.currency, func.sum((jl.debit - jl.credit) * weight))
            .where(lines_since)
            .group_by(jl.currency)
        )
    ).all()
    if any(total for _, total in sums):
        out.update(
            (
                await session.scalars(
                    select(jl.entry_pk)
                    .where(lines_since)
                    .group_by(jl.entry_pk, jl.currency)
                    .having(func.sum(jl.debit) != func.sum(jl.credit))
                )
            ).all()
        )
    return sorted(out)
