"""Owner assignments are dated (a site that changes owner mid-month pays each session's
remainder to the owner of that day), and statements bring forward what is still open."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from clearing.entities import assign_owner, create_entity
from hub.db.base import transaction
from hub.db.models_clearing_ref import LegalEntityRow
from tests.clearing.test_house_support import add_cdr, db, ledger_lines, network, run

__all__ = ["db"]


async def test_owner_of_the_session_day_gets_the_remainder(db) -> None:
    """Site FI-LOC belongs to FI-OLD from 2026-01-01 and to FI-NEW from 2026-11-15. Two direct
    sessions of 8.00 EUR excl. VAT (Finnish VAT 25.5 % = 2.04, paid 10.04; no split rules:
    VAT to TAX, the remaining 8.00 to the owner): 5 November -> FI-OLD 8.00, 20 November ->
    FI-NEW 8.00."""
    net = await network(db)
    async with transaction(db) as s:
        for code in ("FI-OLD", "FI-NEW"):
            await create_entity(s, code, {"name": code, "country": "FI"})
        await assign_owner(s, "LOCATION", "FI-LOC", "FI-OLD", date(2026, 1, 1))
        await assign_owner(s, "LOCATION", "FI-LOC", "FI-NEW", date(2026, 11, 15))
    pks = [await add_cdr(db, f"OWN-{day}", cpo=net.parties["LV*BIM/CPO"],
                         emsp=net.parties["LV*BIM/EMSP"],
                         end=datetime(2026, 11, day, 12, tzinfo=UTC), kwh="20",
                         excl="8.00", country="FIN", location_id="FI-LOC")
           for day in (5, 20)]
    await run(db, "2026-11")
    async with db() as s:
        codes = dict((await s.execute(select(LegalEntityRow.id, LegalEntityRow.code))).all())
    owners = [[(codes[ent], credit) for _, ent, _, credit, role in await ledger_lines(db, pk)
               if role == "OWNER"] for pk in pks]
    assert owners == [[("FI-OLD", Decimal("8.00"))], [("FI-NEW", Decimal("8.00"))]]


async def test_statement_brings_forward_unpaid_items_of_earlier_periods(db) -> None:
    """The Estonian eMSP charged 7.00 at our station in October (reverse charge: gross 7.00),
    invoiced at October's close and not paid; in November 3.00 more. LV-BIM's November
    statement to EE-ELM: opening 7.00 (the open October item), line 3.00, closing 10.00."""
    from clearing.house.documents import statements
    from tests.clearing.test_house_support import close

    net = await network(db)
    oct_, nov = (datetime(2026, 10, 20, 12, tzinfo=UTC), datetime(2026, 11, 10, 12, tzinfo=UTC))
    await add_cdr(db, "EE-OCT", cpo=net.parties["LV*BIM/CPO"],
                  emsp=net.parties["EE*ELM/EMSP"], end=oct_, kwh="20", excl="7.00")
    await close(db, "2026-10")
    await add_cdr(db, "EE-NOV", cpo=net.parties["LV*BIM/CPO"],
                  emsp=net.parties["EE*ELM/EMSP"], end=nov, kwh="10", excl="3.00")
    await run(db, "2026-11")
    async with db() as s:
        [st] = await statements(s, "2026-11", net.entities["LV-BIM"])
    assert st.counterparty.name and st.currency == "EUR"
    assert (st.opening_balance, [x.gross_amount for x in st.lines], st.closing_balance) == (
        Decimal("7.00"), [Decimal("3.00")], Decimal("10.00"))
    assert [x.reference for x in st.lines] == ["EE-NOV"]
