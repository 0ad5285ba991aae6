"""Worked examples of issue 6 item 9, each expected number derived in the docstring."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from clearing.house import ledger
from clearing.house.close import close_period
from clearing.house.periods import PeriodClosed, set_agreement
from hub.db.base import transaction
from tests.clearing.test_house_support import (
    DEC,
    NOV,
    RIGA,
    add_cdr,
    assert_every_entry_balances,
    clearing_of,
    close,
    db,
    invoices,
    ledger_lines,
    network,
    run,
)

__all__ = ["db"]
D = Decimal


@pytest.mark.parametrize(("option", "rule", "rate", "vat", "country"), [
    ("REVERSE_CHARGE", "REVERSE_CHARGE", D(0), D("0.00"), "EE"),
    ("CHARGING_COUNTRY_VAT", "DOMESTIC_VAT", D(21), D("1.47"), "LV"),
])
async def test_estonian_driver_at_a_latvian_station(db, option, rule, rate, vat, country
                                                    ) -> None:
    """An Elmo (EE) driver charges 20 kWh at our Latvian station for 7.00 EUR excl. VAT.

    Supplier LV-BIM (LV), customer EE-ELM (EE, VAT id), supply in LV, both businesses:
    - REVERSE_CHARGE: VAT 0, the Estonian eMSP self-assesses (VAT country EE);
      invoice 7.00 net + 0.00 = 7.00.
    - CHARGING_COUNTRY_VAT: Latvian VAT 21 %: 7.00 x 0.21 = 1.47; invoice 8.47.
    Booking: Dr 1200 receivable (EE-ELM) 7.00 + VAT; Cr 2400 VAT output the VAT (if any);
    no split rules, no owner: the remainder 7.00 is our revenue (Cr 3000, LV-BIM).
    Closing November issues LV-BIM-000001 to EE-ELM with one line of 20 kWh.
    """
    net = await network(db)
    async with transaction(db) as s:
        await set_agreement(s, net.entities["LV-BIM"], net.entities["EE-ELM"], now=NOV,
                            b2b_vat_option=option)
    pk = await add_cdr(db, "EE-1", cpo=net.parties["LV*BIM/CPO"],
                       emsp=net.parties["EE*ELM/EMSP"], end=NOV, kwh="20", excl="7.00",
                       incl="8.47")
    result = await run(db, "2026-11")
    assert result.by_state == {"accepted": 1}
    row = await clearing_of(db, pk)
    assert (row.state, row.net, row.vat, row.tax_rule, row.vat_rate, row.vat_country) == (
        "accepted", D("7.00"), vat, rule, rate, country)
    gross = D("7.00") + vat
    lines = await ledger_lines(db, pk)
    ee, lv = net.entities["EE-ELM"], net.entities["LV-BIM"]
    expected = [(ledger.RECEIVABLE, ee, gross, D(0), None)]
    if vat:
        expected.append((ledger.VAT_OUTPUT, None, D(0), vat, "TAX"))
    expected.append((ledger.REVENUE, lv, D(0), D("7.00"), "OWNER"))
    assert lines == expected

    closed = await close(db, "2026-11")
    assert closed.invoices == ["LV-BIM-000001"]
    [(inv, inv_lines)] = await invoices(db)
    assert (inv.kind, inv.issuer_pk, inv.buyer_pk, inv.total_net, inv.total_vat,
            inv.total_gross) == ("INVOICE", lv, ee, D("7.00"), vat, gross)
    assert [(x.quantity, x.net, x.tax_rule, x.vat_rate, x.vat_amount, x.cdr_count)
            for x in inv_lines] == [(D(20), D("7.00"), rule, rate, vat, 1)]
    assert (await clearing_of(db, pk)).state == "invoiced"
    assert await assert_every_entry_balances(db) == 1


async def test_closing_twice_is_a_no_op_and_a_closed_period_refuses(db) -> None:
    """Closing November again issues nothing (already_closed lists the period); closing the
    closed period directly is a PeriodClosed error; numbering stays gapless (one invoice)."""
    net = await network(db)
    await add_cdr(db, "EE-2", cpo=net.parties["LV*BIM/CPO"], emsp=net.parties["EE*ELM/EMSP"],
                  end=NOV, kwh="10", excl="3.00")
    first = await close(db, "2026-11")
    again = await close(db, "2026-11")
    assert (again.closed, again.invoices, again.already_closed) == ([], [], first.closed)
    async with transaction(db) as s:
        with pytest.raises(PeriodClosed, match="locked"):
            await close_period(s, first.closed[0], now=NOV, zone=RIGA)
    assert [inv.number for inv, _ in await invoices(db)] == ["LV-BIM-000001"]


async def test_credit_cdr_after_invoicing(db) -> None:
    """CDR A (10 kWh, 4.00 EUR, LV -> EE, reverse charge) is invoiced when November closes
    (LV-BIM-000001: 4.00). In December the CPO credits it (credit CDR A-C: -10 kWh, -4.00,
    same November times) and sends a replacement A-R (10 kWh, 3.00).

    November is locked, so both go into December: A becomes ``credited``; closing December
    issues an invoice LV-BIM-000002 for 3.00 with the replacement and a credit note
    LV-BIM-000003 for 4.00 that names LV-BIM-000001 (invoices are numbered before credit
    notes). Numbering per issuer stays gapless (1, 2, 3).
    Ledger: +4.00, -4.00, +3.00 on EE-ELM's receivable: balance 3.00.
    """
    net = await network(db)
    cpo, emsp = net.parties["LV*BIM/CPO"], net.parties["EE*ELM/EMSP"]
    a = await add_cdr(db, "A", cpo=cpo, emsp=emsp, end=NOV, kwh="10", excl="4.00")
    nov = await close(db, "2026-11")
    assert nov.invoices == ["LV-BIM-000001"]
    credit = await add_cdr(db, "A-C", cpo=cpo, emsp=emsp, end=NOV, kwh="10", excl="-4.00",
                           credit_of="A")
    repl = await add_cdr(db, "A-R", cpo=cpo, emsp=emsp, end=DEC, kwh="10", excl="3.00")
    await run(db, "2026-12")
    assert (await clearing_of(db, a)).state == "credited"
    c_row = await clearing_of(db, credit)
    assert (c_row.state, c_row.net, c_row.credit_of_pk) == ("accepted", D("-4.00"),
                                                           (await clearing_of(db, a)).id)
    dec = await close(db, "2026-12", now=DEC.replace(month=12, day=31))
    assert (dec.credit_notes, dec.invoices) == (["LV-BIM-000003"], ["LV-BIM-000002"])
    docs = {inv.number: (inv, lines) for inv, lines in await invoices(db)}
    cn, cn_lines = docs["LV-BIM-000003"]
    assert (cn.kind, cn.total_gross, cn.credited_invoice_pk) == (
        "CREDIT_NOTE", D("4.00"), docs["LV-BIM-000001"][0].id)
    assert [(x.quantity, x.net, x.cdr_count) for x in cn_lines] == [(D(10), D("4.00"), 1)]
    assert docs["LV-BIM-000002"][0].total_gross == D("3.00")
    assert cn.period_pk == docs["LV-BIM-000002"][0].period_pk != docs["LV-BIM-000001"][0].period_pk
    assert (await clearing_of(db, repl)).state == "invoiced"
    ee = net.entities["EE-ELM"]
    balance = sum((d - c for acc, ent, d, c, _ in await ledger_lines(db)
                   if acc == ledger.RECEIVABLE and ent == ee), D(0))
    assert balance == D("3.00")
    await assert_every_entry_balances(db)


async def test_credit_for_an_unknown_original_is_an_exception_and_retried(db) -> None:
    """A credit CDR naming "NOPE" stays ``received`` with an open exception; nothing is
    booked. Once the original exists and is cleared, the next run accepts the credit and the
    exception is resolved (not lost, not duplicated)."""
    from sqlalchemy import select

    from hub.db.models_clearing import ClearingExceptionRow
    net = await network(db)
    cpo, emsp = net.parties["LV*BIM/CPO"], net.parties["EE*ELM/EMSP"]
    credit = await add_cdr(db, "NOPE-C", cpo=cpo, emsp=emsp, end=NOV, kwh="1", excl="-1.00",
                           credit_of="NOPE")
    await run(db, "2026-11")
    await run(db, "2026-11")
    row = await clearing_of(db, credit)
    assert row.state == "received"
    assert [c["code"] for c in row.checks] == ["credit_original_known"]
    async with db() as s:
        exc = (await s.scalars(select(ClearingExceptionRow))).all()
    assert [(e.kind, e.status) for e in exc] == [("CDR_CHECK", "OPEN")]
    assert "unknown original" in exc[0].message
    assert await ledger_lines(db) == []
    await add_cdr(db, "NOPE", cpo=cpo, emsp=emsp, end=NOV, kwh="1", excl="1.00")
    await run(db, "2026-11")
    await run(db, "2026-11")
    assert (await clearing_of(db, credit)).state == "accepted"
    async with db() as s:
        assert [e.status for e in (await s.scalars(select(ClearingExceptionRow))).all()] == [
            "RESOLVED"]
    await assert_every_entry_balances(db)


async def test_scheduled_close_waits_for_the_grace_days(db, settings) -> None:
    """November ends on 1 December (Riga); with 5 grace days the job closes it from
    6 December on, once: 3 December nothing, 7 December ["2026-11"], again nothing."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from clearing.house.jobs import close_due_periods

    hub_ctx: Any = SimpleNamespace(settings=settings, sessionmaker=db)
    net = await network(db)
    await add_cdr(db, "J-1", cpo=net.parties["LV*BIM/CPO"], emsp=net.parties["EE*ELM/EMSP"],
                  end=NOV, kwh="10", excl="3.00")
    await run(db, "2026-11")
    assert hub_ctx.settings.clearing.close_grace_days == 5
    hub_ctx.clock = lambda: datetime(2026, 12, 3, 3, tzinfo=UTC)
    assert await close_due_periods(hub_ctx) == []
    hub_ctx.clock = lambda: datetime(2026, 12, 7, 3, tzinfo=UTC)
    assert await close_due_periods(hub_ctx) == ["2026-11"]
    assert await close_due_periods(hub_ctx) == []
    assert [inv.number for inv, _ in await invoices(db)] == ["LV-BIM-000001"]


async def test_manual_dispute_reverses_the_booking_and_credit_writes_it_off(db) -> None:
    """CDR D (5.00, LV -> EE, reverse charge) is accepted and booked (+5.00 receivable).
    Disputed by hand, its booking is reversed at once (receivable 0.00); resolved CREDIT, it
    is ``credited``: closing November issues no invoice. A second CDR E disputed and resolved
    ACCEPT is booked again (key cdr:<pk>:<n>) and invoiced: 3.00."""
    from clearing.house.disputes import open_dispute, resolve_dispute

    net = await network(db)
    cpo, emsp = net.parties["LV*BIM/CPO"], net.parties["EE*ELM/EMSP"]
    d = await add_cdr(db, "D", cpo=cpo, emsp=emsp, end=NOV, kwh="10", excl="5.00")
    e = await add_cdr(db, "E", cpo=cpo, emsp=emsp, end=NOV, kwh="10", excl="3.00")
    await run(db, "2026-11")
    ee = net.entities["EE-ELM"]

    async def receivable() -> Decimal:
        return sum((dr_ - cr_ for acc, ent, dr_, cr_, _ in await ledger_lines(db)
                    if acc == ledger.RECEIVABLE and ent == ee), D(0))

    assert await receivable() == D("8.00")
    async with transaction(db) as s:
        dd = await open_dispute(s, d, "the driver says the session failed", NOV, RIGA)
        de = await open_dispute(s, e, "price check", NOV, RIGA)
    assert await receivable() == D(0)
    async with transaction(db) as s:
        await resolve_dispute(s, dd.id, "CREDIT", NOV, RIGA)
        await resolve_dispute(s, de.id, "ACCEPT", NOV, RIGA)
    assert ((await clearing_of(db, d)).state, (await clearing_of(db, e)).state) == (
        "credited", "accepted")
    assert await receivable() == D("3.00")
    closed = await close(db, "2026-11")
    [(inv, lines)] = await invoices(db)
    assert (closed.invoices, inv.total_gross, [x.cdr_count for x in lines]) == (
        ["LV-BIM-000001"], D("3.00"), [1])
    await assert_every_entry_balances(db)
