"""Group reads (hub.db.groupread): concurrent look-ups of one kind are answered by one SELECT,
each caller gets the row for its own key (the first by the statement's order), an unknown key
gets None, and a failing SELECT fails only the callers it was reading for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import SQLAlchemyError

from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.groupread import MAX_KEYS, Lookup, group_reader
from hub.db.models import PartyRow, TokenRow
from hub.settings import Settings

BY_UID = Lookup(select(TokenRow.uid, TokenRow.contract_id)
                .where(TokenRow.uid.in_(bindparam("keys", expanding=True)))
                .order_by(TokenRow.id), key_of=lambda row: row.uid)


async def test_concurrent_lookups_share_one_select(settings: Settings) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    selects: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM tokens" in statement:
            selects.append(statement)

    try:
        async with transaction(sm) as s:
            party = PartyRow(country_code="LV", party_id="BIE", role="EMSP", name="e")
            s.add(party)
            await s.flush()
            for uid, contract in (("A1", "C-A1"), ("B2", "C-B2"), ("A1", "C-A1-second")):
                s.add(TokenRow(party_pk=party.id, uid=uid, type="RFID" if contract != "C-A1-second"
                               else "APP_USER", contract_id=contract, issuer="x"))
        reader = group_reader(engine)
        assert group_reader(engine) is reader  # one per database
        before = reader.selects
        rows = await asyncio.gather(*(reader.get(BY_UID, uid)
                                      for uid in ("A1", "B2", "NONE", "A1")))
        assert reader.selects == before + 1 and len(selects) == 1
        assert [r.contract_id if r else None for r in rows] == ["C-A1", "C-B2", None, "C-A1"]
        # More keys than one SELECT takes: several SELECTs, every caller answered.
        many = await asyncio.gather(*(reader.get(BY_UID, f"K{i}") for i in range(MAX_KEYS + 5)))
        assert many == [None] * (MAX_KEYS + 5) and reader.selects == before + 3
    finally:
        await engine.dispose()


async def test_failing_select_fails_its_callers_only(settings: Settings) -> None:
    engine = make_engine(settings)
    broken = Lookup(select(TokenRow.uid).where(
        TokenRow.uid.in_(bindparam("keys", expanding=True))).where(
        TokenRow.uid == bindparam("missing_parameter")), key_of=lambda row: row.uid)
    try:
        reader = group_reader(engine)
        results = await asyncio.gather(reader.get(broken, "A"), reader.get(broken, "B"),
                                       reader.get(BY_UID, "A"), return_exceptions=True)
        assert isinstance(results[0], SQLAlchemyError) and isinstance(results[1], SQLAlchemyError)
        assert results[2] is None  # the other lookup of the same moment is answered
        with pytest.raises(SQLAlchemyError):
            await reader.get(broken, "C")
        assert await reader.get(BY_UID, "C") is None  # and the reader keeps working
    finally:
        await engine.dispose()
