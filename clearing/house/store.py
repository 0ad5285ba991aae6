"""Writing clearing results: journal entries (checked, at most once per key), state changes
with their history rows, and exceptions for finance (one per key, updated on re-runs).

Bulk paths use Core ``insert`` with many parameter sets (one round trip per batch), so a
monthly close of a million CDRs does not build a million ORM objects.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from clearing.house.ledger import Line, Posting
from clearing.house.lifecycle import check_transition, compressed
from hub.db.base import Base
from hub.db.models import PartyRow
from hub.db.models_clearing import (
    CdrClearingRow,
    CdrTransitionRow,
    ClearingExceptionRow,
    JournalEntryRow,
    JournalLineRow,
)
from hub.db.models_clearing_ref import LegalEntityRow, PartyEntityRow

LINE_FIELDS = tuple(f.name for f in fields(Line))


def core(model: type[Base]) -> Table:
    """The Core table of an ORM model (bulk inserts skip the ORM's per-row bookkeeping)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def post_many(session: AsyncSession, postings: Sequence[Posting], now: datetime
                    ) -> int:
    """Book ``postings`` whose keys are not booked yet; returns how many were booked."""
    if not postings:
        return 0
    for p in postings:
        p.check()
    keys = [p.key for p in postings]
    done: set[str] = set()
    for i in range(0, len(keys), 500):
        done.update((await session.scalars(select(JournalEntryRow.key).where(
            JournalEntryRow.key.in_(keys[i:i + 500])))).all())
    todo = [p for p in postings if p.key not in done]
    if not todo:
        return 0
    # Core inserts without RETURNING (row-at-a-time on SQLite), then the ids by unique key.
    await bulk_insert(session, core(JournalEntryRow), [
        {"key": p.key, "period_pk": p.period_pk, "kind": p.kind, "booked_on": p.booked_on,
         "description": p.description, "cdr_pk": p.cdr_pk, "created_at": now}
        for p in todo])
    ids = await ids_by(session, JournalEntryRow.id, JournalEntryRow.key, [p.key for p in todo])
    lines = [{**{f: getattr(line, f) for f in LINE_FIELDS}, "entry_pk": ids[p.key]}
             for p in todo for line in p.lines]
    await bulk_insert(session, core(JournalLineRow), lines)
    return len(todo)


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in one go: PostgreSQL ``COPY`` through the
    asyncpg connection of the session's transaction, else a Core executemany."""
    if not rows:
        return
    conn = await session.connection()
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "asyncpg":
        await session.execute(insert(table), rows)
        return
    cols = [c for c in table.columns if c.name in rows[0]]
    if any(len(r) != len(cols) for r in rows):
        raise ValueError(f"bulk insert into {table.name}: rows with different columns")
    as_json = {c.name for c in cols if isinstance(c.type, JSON)}
    records = [tuple(json.dumps(r[c.name]) if c.name in as_json and r[c.name] is not None
                     else r[c.name] for c in cols) for r in rows]
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=[c.name for c in cols])


async def ids_by(session: AsyncSession, id_col: Any, key_col: Any, keys: Sequence[Any]
                 ) -> dict[Any, int]:
    """{key: id} of rows just inserted, looked up by a unique column, 500 keys a query."""
    out: dict[Any, int] = {}
    for i in range(0, len(keys), 500):
        out.update({k: pk for pk, k in (await session.execute(
            select(id_col, key_col).where(key_col.in_(keys[i:i + 500])))).all()})
    return out


async def post(session: AsyncSession, posting: Posting, now: datetime) -> bool:
    return await post_many(session, [posting], now) == 1


async def move(session: AsyncSession, row: CdrClearingRow, target: str, reason: str | None,
               now: datetime) -> None:
    """One state change of a CDR, checked against the table, with its history row."""
    check_transition(row.state, target)
    session.add(CdrTransitionRow(clearing_pk=row.id, from_state=row.state, to_state=target,
                                 reason=reason, at=now))
    row.state, row.updated_at = target, now
    await session.flush()


async def raise_exception(session: AsyncSession, key: str, kind: str, message: str,
                          now: datetime, *, cdr_pk: int | None = None,
                          bank_line_pk: int | None = None) -> None:
    row = (await session.scalars(select(ClearingExceptionRow).where(
        ClearingExceptionRow.key == key))).first()
    if row is None:
        session.add(ClearingExceptionRow(key=key, kind=kind, message=message, cdr_pk=cdr_pk,
                                         bank_line_pk=bank_line_pk, created_at=now))
    else:
        row.message, row.status, row.resolved_at = message, "OPEN", None
    await session.flush()


async def resolve_exceptions(session: AsyncSession, keys: Sequence[str], now: datetime) -> None:
    for i in range(0, len(keys), 500):
        await session.execute(update(ClearingExceptionRow).where(
            ClearingExceptionRow.key.in_(keys[i:i + 500]),
            ClearingExceptionRow.status == "OPEN").values(status="RESOLVED", resolved_at=now))


async def entities(session: AsyncSession) -> tuple[dict[int, LegalEntityRow],
                                                   dict[int, LegalEntityRow],
                                                   dict[str, int]]:
    """(party pk -> entity, entity pk -> entity, entity code -> pk): small reference data."""
    by_pk = {e.id: e for e in (await session.scalars(select(LegalEntityRow))).all()}
    party = {pk: by_pk[ent] for pk, ent in (await session.execute(
        select(PartyEntityRow.party_pk, PartyEntityRow.entity_pk))).all()}
    return party, by_pk, {e.code: e.id for e in by_pk.values()}


async def own_parties(session: AsyncSession) -> set[int]:
    return set((await session.scalars(select(PartyRow.id).where(
        PartyRow.is_own.is_(True)))).all())


def history_rows(clearing_pk: int, steps: Sequence[tuple[str, str]], reason: str | None,
                 now: datetime) -> list[dict[str, Any]]:
    """The history rows of ``steps`` taken at ``now``: a run's whole path is one row
    (``lifecycle.compressed``; readers expand it with ``lifecycle.expand``)."""
    return [{"clearing_pk": clearing_pk, "from_state": a, "to_state": b, "reason": reason,
             "at": now} for a, b in compressed(list(steps))]


def line_history(invoice_line_pk: int, from_state: str, to_state: str, reason: str,
                 now: datetime) -> CdrTransitionRow:
    """ONE history row for every CDR of an invoice line that is in ``from_state`` and moves
    to ``to_state`` (a close, a payment): not one row per CDR. ``queries.cdr_state`` shows
    it in the history of each CDR of the line that was in ``from_state`` at that point."""
    check_transition(from_state, to_state)
    return CdrTransitionRow(clearing_pk=None, invoice_line_pk=invoice_line_pk,
                            from_state=from_state, to_state=to_state, reason=reason, at=now)


async def reserve_ids(session: AsyncSession, table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys of ``table`` for rows written with explicit ids (no lookup
    of the ids after the insert): PostgreSQL takes them from the id sequence (safe with
    concurrent writers); SQLite continues after the largest id (one writer at a time: the
    hub queues SQLite units of work, ``hub.db.base``)."""
    if n <= 0:
        return []
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        ids = await session.scalar(text(
            "SELECT array_agg(nextval(pg_get_serial_sequence(:t, 'id'))) "
            "FROM generate_series(1, :n)"), {"t": table.name, "n": n})
        return list(ids)
    top = (await session.scalar(select(func.max(table.c.id)))) or 0
    return list(range(top + 1, top + 1 + n))


def copies(conn: Any) -> bool:
    """Whether bulk writes on ``conn`` go through PostgreSQL ``COPY`` (asyncpg)."""
    return bool(conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg")


async def copy_rows(session: AsyncSession, table: Table, columns: Sequence[str],
                    records: list[tuple[Any, ...]], *, json_ready: bool = False) -> None:
    """Insert ``records`` (tuples in the order of ``columns``): PostgreSQL ``COPY``, else a
    Core executemany (which applies the column types, e.g. SQLite's exact decimal strings).
    ``json_ready``: JSON columns hold their JSON text already (only for ``copies(session)``
    True)."""
    if not records:
        return
    conn = await session.connection()
    if not copies(conn):
        await session.execute(insert(table), [dict(zip(columns, r, strict=True))
                                              for r in records])
        return
    as_json = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    if as_json and not json_ready:
        records = [tuple(json.dumps(v) if i in as_json and v is not None else v
                         for i, v in enumerate(r)) for r in records]
    # COPY's text format: str() of Decimal, date, aware datetime, int and bool is what
    # PostgreSQL reads back exactly (and faster to produce than asyncpg's binary records).
    tabs, lines = len(columns) - 1, []
    for r in records:
        row = "\t".join(["\\N" if v is None else v if v.__class__ is str else str(v)
                         for v in r])
        # a value with a tab, line break or backslash needs escaping: rare, so checked once
        # per row (the only backslashes and tabs are those of NULLs and separators)
        if row.count("\t") != tabs or row.count("\\") != r.count(None) or "\n" in row \
                or "\r" in row:
            row = "\t".join([_copy_text(v) for v in r])
        lines.append(row)
    text_rows = "\n".join(lines) + "\n"
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
        table.name, source=io.BytesIO(text_rows.encode()), columns=list(columns),
        format="text")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(v: Any) -> str:
    if v is None:
        return "\\N"
    cls = v.__class__
    if cls is str:
        return str(v).translate(_COPY_ESCAPES)
    if cls is datetime and v.tzinfo is None:
        raise ValueError("naive datetime refused; use timezone-aware UTC")
    return str(v)
