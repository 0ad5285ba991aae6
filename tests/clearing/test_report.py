from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearing.report import build_report, period_bounds, write_csv
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import CdrRow, PartyRow
from hub.domain import InvalidInput
from hub.settings import Settings

D = Decimal
RIGA = "Europe/Riga"
HEADER = ("period,direction,cdr_id,cpo,counterparty,start,end,energy_kwh,currency,"
          "total_excl_vat,vat_country,vat_rate,vat_amount,total_incl_vat")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def parties(db: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    specs = [("LV", "BIM", "CPO", True), ("LV", "BIE", "EMSP", True),
             ("EE", "ELM", "EMSP", False), ("EE", "ELM", "CPO", False),
             ("FI", "VIR", "EMSP", False)]
    async with transaction(db) as s:
        rows = {f"{c}*{p}/{r}": PartyRow(country_code=c, party_id=p, role=r, is_own=own)
                for c, p, r, own in specs}
        s.add_all(rows.values())
        await s.flush()
        return {k: v.id for k, v in rows.items()}


async def add_cdr(db: async_sessionmaker[AsyncSession], cdr_id: str, *, cpo: int,
                  emsp: int | None, end: datetime, kwh: str, excl: str, incl: str | None,
                  source: str = "own", vat_rate: str | None = "21", vat_country: str = "LV",
                  credit: bool = False) -> None:
    async with transaction(db) as s:
        s.add(CdrRow(
            cdr_id=cdr_id, cpo_party_pk=cpo, emsp_party_pk=emsp, source=source,
            start_date_time=end - timedelta(hours=1), end_date_time=end, token_uid="T",
            token_type="RFID", contract_id="C", auth_method="WHITELIST", currency="EUR",
            total_energy=D(kwh), total_time=D(1), total_cost_excl_vat=D(excl),
            total_cost_incl_vat=D(incl) if incl is not None else None,
            vat_rate=D(vat_rate) if vat_rate is not None else None, vat_country=vat_country,
            location={}, credit=credit,
        ))


async def report_csv(db: async_sessionmaker[AsyncSession], period: str) -> list[str]:
    async with db() as s:
        report = await build_report(s, period, RIGA)
    out = io.StringIO()
    write_csv(report, out)
    return out.getvalue().splitlines()


def test_period_bounds_are_riga_months_in_utc() -> None:
    assert period_bounds("2026-11", RIGA) == (datetime(2026, 10, 31, 22, tzinfo=UTC),
                                              datetime(2026, 11, 30, 22, tzinfo=UTC))
    # Summer time: July starts at 21:00Z the day before.
    assert period_bounds("2026-07", RIGA)[0] == datetime(2026, 6, 30, 21, tzinfo=UTC)
    assert period_bounds("2026-12", RIGA)[1] == datetime(2026, 12, 31, 22, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "",
                                 "2026-11-01", "november"])
def test_malformed_period_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        period_bounds(bad, RIGA)


async def test_malformed_period_rejected_by_build_report(db) -> None:
    async with db() as s:
        with pytest.raises(InvalidInput, match="YYYY-MM"):
            await build_report(s, "2026-13", RIGA)


async def test_empty_period_is_header_only(db) -> None:
    assert await report_csv(db, "2026-11") == [HEADER]


async def test_month_boundary_in_riga(db) -> None:
    p = await parties(db)
    bim, elm = p["LV*BIM/CPO"], p["EE*ELM/EMSP"]
    # 22:30Z on 31 October is 00:30 on 1 November in Riga.
    await add_cdr(db, "nov-early", cpo=bim, emsp=elm, end=datetime(2026, 10, 31, 22, 30,
                  tzinfo=UTC), kwh="20", excl="7.00", incl="8.47")
    await add_cdr(db, "oct-late", cpo=bim, emsp=elm, end=datetime(2026, 10, 31, 21, 59,
                  tzinfo=UTC), kwh="10", excl="3.00", incl="3.63")
    await add_cdr(db, "dec-first", cpo=bim, emsp=elm, end=datetime(2026, 11, 30, 22, 0,
                  tzinfo=UTC), kwh="10", excl="3.00", incl="3.63")
    nov = await report_csv(db, "2026-11")
    assert nov == [
        HEADER,
        "2026-11,receivable,nov-early,LV*BIM,EE*ELM,2026-10-31T21:30:00Z,"
        "2026-10-31T22:30:00Z,20,EUR,7.00,LV,21,1.47,8.47",
        "2026-11,receivable,TOTAL,,EE*ELM,,,20,EUR,7.00,,,1.47,8.47",
    ]
    oct_ids = [line.split(",")[2] for line in (await report_csv(db, "2026-10"))[1:]]
    assert oct_ids == ["oct-late", "TOTAL"]
    dec_ids = [line.split(",")[2] for line in (await report_csv(db, "2026-12"))[1:]]
    assert dec_ids == ["dec-first", "TOTAL"]


async def test_totals_per_counterparty_and_direction(db) -> None:
    p = await parties(db)
    bim, elm_emsp, elm_cpo = p["LV*BIM/CPO"], p["EE*ELM/EMSP"], p["EE*ELM/CPO"]
    vir, bie = p["FI*VIR/EMSP"], p["LV*BIE/EMSP"]
    day = datetime(2026, 11, 10, 12, tzinfo=UTC)
    await add_cdr(db, "a", cpo=bim, emsp=elm_emsp, end=day, kwh="20", excl="7.00",
                  incl="8.47")
    await add_cdr(db, "b", cpo=bim, emsp=elm_emsp, end=day + timedelta(hours=1),
                  kwh="12.3456", excl="4.005", incl="4.85")
    await add_cdr(db, "c", cpo=bim, emsp=vir, end=day + timedelta(hours=2), kwh="5",
                  excl="1.50", incl="1.82")
    # Received from the Estonian CPO: our eMSP owes them. It states no incl. total, only a rate.
    await add_cdr(db, "EE-1", cpo=elm_cpo, emsp=bie, end=day + timedelta(hours=3), kwh="8.5",
                  excl="2.50", incl=None, source="received", vat_rate="24", vat_country="EE")
    # A credit CDR from them cancels a previous one: negative money, energy netted out.
    await add_cdr(db, "EE-0-C", cpo=elm_cpo, emsp=bie, end=day + timedelta(hours=4), kwh="1",
                  excl="-1.00", incl="-1.24", source="received", vat_rate="24",
                  vat_country="EE", credit=True)
    rows = [line.split(",") for line in (await report_csv(db, "2026-11"))[1:]]
    by_id = {r[2]: r for r in rows if r[2] != "TOTAL"}
    assert by_id["b"][7:] == ["12.346", "EUR", "4.01", "LV", "21", "0.84", "4.85"]
    assert by_id["EE-1"][1:5] == ["payable", "EE-1", "EE*ELM", "EE*ELM"]
    assert by_id["EE-1"][9:] == ["2.50", "EE", "24", "0.60", "3.10"]
    assert by_id["EE-0-C"][7] == "-1"
    totals = [(r[1], r[4], r[7], r[9], r[12], r[13]) for r in rows if r[2] == "TOTAL"]
    assert totals == [
        ("payable", "EE*ELM", "7.5", "1.50", "0.36", "1.86"),
        ("receivable", "EE*ELM", "32.346", "11.01", "2.31", "13.32"),
        ("receivable", "FI*VIR", "5", "1.50", "0.32", "1.82"),
    ]


async def test_unknown_vat_leaves_the_group_total_blank(db) -> None:
    p = await parties(db)
    await add_cdr(db, "x", cpo=p["EE*ELM/CPO"], emsp=p["LV*BIE/EMSP"],
                  end=datetime(2026, 11, 2, tzinfo=UTC), kwh="3", excl="1.00", incl=None,
                  source="received", vat_rate=None, vat_country="EE")
    lines = await report_csv(db, "2026-11")
    assert lines[1].endswith(",EUR,1.00,EE,,,")
    assert lines[2] == "2026-11,payable,TOTAL,,EE*ELM,,,3,EUR,1.00,,,,"
