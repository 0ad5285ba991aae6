"""Builders shared by the clearing-house tests (no tests here): legal entities, parties
mapped to them, CDRs, and ledger sums."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearing.entities import create_entity, map_party
from clearing.house.close import close_month
from clearing.house.run import RunResult, run_clearing
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import CdrRow, PartyRow
from hub.db.models_clearing import (
    CdrClearingRow,
    InvoiceLineRow,
    InvoiceRow,
    JournalEntryRow,
    JournalLineRow,
)
from hub.settings import Settings

D = Decimal
RIGA = "Europe/Riga"
NOV = datetime(2026, 11, 10, 12, tzinfo=UTC)
DEC = datetime(2026, 12, 3, 12, tzinfo=UTC)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


ENTITIES: dict[str, dict[str, Any]] = {
    "LV-BIM": {"name": "Latvian network", "country": "LV", "vat_id": "LV40003000001",
               "iban": "LV80BANK0000435195001", "bic": "HABALV22", "currency": "EUR"},
    "EE-ELM": {"name": "Elmo Rent", "country": "EE", "vat_id": "EE100000001",
               "iban": "EE382200221020145685", "bic": "HABAEE2X", "currency": "EUR"},
    "FI-VIR": {"name": "Virta", "country": "FI", "vat_id": "FI10000001",
               "iban": "FI2112345600000785", "bic": "NDEAFIHH", "currency": "EUR"},
    "SE-CHG": {"name": "Laddbolaget", "country": "SE", "vat_id": "SE556000000101",
               "iban": "SE4550000000058398257466", "bic": "ESSESESS", "currency": "SEK"},
}
OWN = {"LV-BIM"}


@dataclass
class Net:
    parties: dict[str, int]
    entities: dict[str, int]


async def network(db: async_sessionmaker[AsyncSession], extra: dict[str, Any] | None = None
                  ) -> Net:
    """LV*BIM (our CPO and eMSP, entity LV-BIM) and partners' CPO/eMSP parties."""
    specs = [("LV", "BIM", "CPO", "LV-BIM"), ("LV", "BIM", "EMSP", "LV-BIM"),
             ("EE", "ELM", "EMSP", "EE-ELM"), ("EE", "ELM", "CPO", "EE-ELM"),
             ("FI", "VIR", "EMSP", "FI-VIR"), ("FI", "VIR", "CPO", "FI-VIR"),
             ("SE", "CHG", "EMSP", "SE-CHG"), ("SE", "CHG", "CPO", "SE-CHG")]
    async with transaction(db) as s:
        ents = {}
        for code, data in ENTITIES.items():
            ents[code] = (await create_entity(s, code, {**data, **(extra or {}).get(code, {})},
                                              is_own=code in OWN)).id
        parties = {}
        for c, p, r, code in specs:
            row = PartyRow(country_code=c, party_id=p, role=r, is_own=code in OWN)
            s.add(row)
            await s.flush()
            await map_party(s, row.id, code)
            parties[f"{c}*{p}/{r}"] = row.id
    return Net(parties, ents)


async def add_cdr(db: async_sessionmaker[AsyncSession], cdr_id: str, *, cpo: int,
                  emsp: int | None, end: datetime, kwh: str, excl: str,
                  incl: str | None = None, source: str = "own", country: str = "LVA",
                  currency: str = "EUR", credit_of: str | None = None,
                  location_id: str = "LOC1", raw: dict[str, Any] | None = None) -> int:
    async with transaction(db) as s:
        row = CdrRow(
            cdr_id=cdr_id, cpo_party_pk=cpo, emsp_party_pk=emsp, source=source,
            start_date_time=end - timedelta(hours=1), end_date_time=end, token_uid="T",
            token_type="RFID", contract_id="C", auth_method="WHITELIST", currency=currency,
            total_energy=D(kwh), total_time=D(1), total_cost_excl_vat=D(excl),
            total_cost_incl_vat=D(incl) if incl is not None else None,
            location={"id": location_id, "country": country},
            credit=credit_of is not None,
            raw={**(raw or {}), **({"credit_reference_id": credit_of} if credit_of else {})}
            or None)
        s.add(row)
        await s.flush()
        return row.id


async def run(db: async_sessionmaker[AsyncSession], period: str, now: datetime = DEC
              ) -> RunResult:
    return await run_clearing(db, period=period, zone=RIGA, now=now)


async def close(db: async_sessionmaker[AsyncSession], period: str, now: datetime = DEC
                ) -> Any:
    await run(db, period, now)
    return await close_month(db, period, now=now, zone=RIGA)


async def clearing_of(db: async_sessionmaker[AsyncSession], cdr_pk: int) -> CdrClearingRow:
    async with db() as s:
        row = (await s.scalars(select(CdrClearingRow).where(
            CdrClearingRow.cdr_pk == cdr_pk))).one()
        return row


async def invoices(db: async_sessionmaker[AsyncSession]
                   ) -> list[tuple[InvoiceRow, list[InvoiceLineRow]]]:
    async with db() as s:
        out = []
        for inv in (await s.scalars(select(InvoiceRow).order_by(InvoiceRow.id))).all():
            lines = (await s.scalars(select(InvoiceLineRow).where(
                InvoiceLineRow.invoice_pk == inv.id).order_by(InvoiceLineRow.line_no))).all()
            out.append((inv, list(lines)))
        return out


async def ledger_lines(db: async_sessionmaker[AsyncSession], cdr_pk: int | None = None
                       ) -> list[tuple[str, int | None, Decimal, Decimal, str | None]]:
    """(account, entity pk, debit, credit, role) of the CDR's entries (all when None)."""
    async with db() as s:
        q = select(JournalLineRow).join(JournalEntryRow,
                                        JournalEntryRow.id == JournalLineRow.entry_pk)
        if cdr_pk is not None:
            q = q.where(JournalEntryRow.cdr_pk == cdr_pk)
        rows = (await s.scalars(q.order_by(JournalLineRow.id))).all()
        return [(r.account, r.entity_pk, r.debit, r.credit, r.role) for r in rows]


async def assert_every_entry_balances(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as s:
        rows = (await s.execute(select(JournalLineRow.entry_pk, JournalLineRow.currency,
                                       JournalLineRow.debit, JournalLineRow.credit))).all()
    sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for entry, ccy, debit, credit in rows:
        sums[(entry, ccy)] += debit - credit
    assert {k: v for k, v in sums.items() if v} == {}
    return len({e for e, _ in sums})
