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


async def test_monthly_fee_per_charge_point_booked_once_and_deducted_from_the_owner(db
                                                                                    ) -> None:
    """FI-OWN owns site FI-LOC with 3 stations; our platform (LV-BIM) charges 9.90 EUR per
    charge point per month + Finnish VAT 25.5 %: 3 x 9.90 = 29.70, VAT 7.5735 -> 7.57, fee
    37.27. Closing November books Dr split payable FI-OWN 37.27 / Cr revenue LV-BIM 29.70 /
    Cr VAT 7.57 once (a second close books nothing); FI-OWN's remittance shows the fee and a
    payout of -37.27 (no sessions this month)."""
    from clearing.house import ledger
    from clearing.house.close import close_month
    from clearing.house.documents import remittances
    from clearing.split import SplitRule, save_rule
    from hub.services.network import add_station, create_location

    net = await network(db)
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    async with transaction(db) as s:
        await create_entity(s, "FI-OWN", {"name": "FI-OWN", "country": "FI"})
        await assign_owner(s, "LOCATION", "FI-LOC", "FI-OWN", date(2026, 1, 1))
        await create_location(s, "FI-LOC", name="Site", address="Katu 1", city="Espoo",
                              postal_code="02100", country="FIN", latitude="60.20000",
                              longitude="24.65000", time_zone="Europe/Helsinki", tariff=None,
                              now=now)
        for n in range(3):
            await add_station(s, f"FI-CP-{n}", password=None, location_id="FI-LOC",
                              connectors=2, now=now)
        await save_rule(s, SplitRule(
            id=0, role="PLATFORM", entity_code="LV-BIM", basis="MONTHLY_PER_CHARGE_POINT",
            amount=Decimal("9.90"), percent=None, tax_rule="DOMESTIC_VAT",
            vat_rate=Decimal("25.5"), valid_from=date(2026, 1, 1), valid_to=None,
            scope="ALL", scope_id=None))
    first = await close_month(db, "2026-11", now=now, zone="Europe/Riga")
    again = await close_month(db, "2026-11", now=now, zone="Europe/Riga")
    assert (first.monthly_fees, again.monthly_fees) == (1, 0)
    async with db() as s:
        codes = dict((await s.execute(select(LegalEntityRow.id, LegalEntityRow.code))).all())
    lines = [(acc, codes.get(ent) if ent else None, d, c)
             for acc, ent, d, c, _ in await ledger_lines(db)]
    assert lines == [(ledger.SPLIT_PAYABLE, "FI-OWN", Decimal("37.27"), Decimal(0)),
                     (ledger.REVENUE, "LV-BIM", Decimal(0), Decimal("29.70")),
                     (ledger.VAT_OUTPUT, None, Decimal(0), Decimal("7.57"))]
    async with db() as s:
        [rem] = await remittances(s, "2026-11", net.entities["LV-BIM"])
    assert rem.owner.name == "FI-OWN" and rem.total_payout == Decimal("-37.27")
    [line] = rem.lines
    assert line.fees == (("PLATFORM", Decimal("37.27")),) and line.sessions == 0
    from clearing.finance import pdf, statements

    assert b"monthly fees" in statements.remittance_csv(rem)
    assert statements.remittance_xlsx(rem)[:2] == b"PK" and pdf.remittance_pdf(rem)[:4] == b"%PDF"
