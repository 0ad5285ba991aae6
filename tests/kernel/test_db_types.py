from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import OutboxRow, PartyRow, TariffRow
from hub.settings import Settings


async def test_decimal_and_aware_datetime_round_trip_exactly(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    riga = timezone(timedelta(hours=2))
    when = datetime(2026, 3, 29, 3, 30, 0, 123456, tzinfo=riga)
    try:
        async with transaction(sm) as s:
            s.add(PartyRow(country_code="LV", party_id="BIM", role="CPO", name="x"))
            await s.flush()
            party = (await s.scalars(select(PartyRow))).one()
            s.add(TariffRow(party_pk=party.id, tariff_id="T", currency="EUR", elements=[],
                            last_updated=when))
            s.add(OutboxRow(kind="k", subject="s", next_attempt_at=when))
        async with transaction(sm) as s:
            t = (await s.scalars(select(TariffRow))).one()
            assert t.last_updated == when
            assert t.last_updated.tzinfo is not None
            assert t.last_updated.utcoffset() == timedelta(0)
    finally:
        await engine.dispose()


async def test_exact_decimal_keeps_every_digit(settings: Settings) -> None:
    from hub.db.models import CdrRow

    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        async with transaction(sm) as s:
            s.add(PartyRow(country_code="LV", party_id="BIM", role="CPO"))
            await s.flush()
            pk = (await s.scalars(select(PartyRow.id))).one()
            s.add(CdrRow(cdr_id="c1", cpo_party_pk=pk, start_date_time=now, end_date_time=now,
                         token_uid="u", token_type="RFID", contract_id="c", auth_method="WHITELIST",
                         currency="EUR", total_energy=Decimal("20.123456"),
                         total_time=Decimal("0.1"), total_cost_excl_vat=Decimal("7.000001"),
                         location={}))
        async with transaction(sm) as s:
            row = (await s.scalars(select(CdrRow))).one()
            assert row.total_energy == Decimal("20.123456")
            assert row.total_cost_excl_vat == Decimal("7.000001")
            assert str(row.total_time) == "0.1"
    finally:
        await engine.dispose()


async def test_naive_datetime_is_refused(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        with pytest.raises(StatementError, match="naive datetime"):
            async with transaction(sm) as s:
                s.add(OutboxRow(kind="k", subject="s", next_attempt_at=datetime(2026, 1, 1)))
    finally:
        await engine.dispose()


async def test_a_failed_unit_of_work_leaves_nothing_behind(settings: Settings) -> None:
    """Atomicity holds with the inline SQLite driver as with asyncpg."""
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        with pytest.raises(RuntimeError):
            async with transaction(sm) as s:
                s.add(PartyRow(country_code="LV", party_id="BIM", role="CPO"))
                await s.flush()
                s.add(OutboxRow(kind="k", subject="s", next_attempt_at=datetime.now(UTC)))
                await s.flush()
                raise RuntimeError("boom")
        async with transaction(sm) as s:
            assert (await s.scalars(select(PartyRow))).all() == []
            assert (await s.scalars(select(OutboxRow))).all() == []
    finally:
        await engine.dispose()
