"""Bad input (issue 6): unknown tariffs, currencies without a rate, implausible CDRs, bank
lines matching nothing or two invoices, unbalanced entries. Each is a clear error or an item
in the exceptions list; nothing is booked twice or lost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from clearing.finance.documents import BankLine
from clearing.house import ledger
from clearing.house.ledger import Posting, UnbalancedEntry, cr, dr
from clearing.house.lifecycle import TRANSITIONS, check_transition
from clearing.house.settle import import_bank_lines
from hub.db.base import transaction
from hub.db.models import CdrRow
from hub.db.models_clearing import BankLineRow, ClearingExceptionRow
from hub.domain import Conflict
from tests.clearing.test_house_support import (
    NOV,
    add_cdr,
    clearing_of,
    close,
    db,
    ledger_lines,
    network,
    run,
)

__all__ = ["db"]
D = Decimal


async def _exceptions(db) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    async with db() as s:
        return [(e.kind, e.status, e.message) for e in (await s.scalars(
            select(ClearingExceptionRow).order_by(ClearingExceptionRow.id))).all()]


async def test_unknown_tariff_and_missing_rate_are_exceptions_not_bookings(db) -> None:
    """A partner's CDR naming a tariff it never published cannot be rated; our CDR in PLN
    has no PLN rate to convert to the agreement's EUR. Both stay ``received`` with their
    failed check, one exception each (a second run does not add more), nothing booked."""
    net = await network(db)
    unknown = await add_cdr(db, "EE-X", cpo=net.parties["EE*ELM/CPO"],
                            emsp=net.parties["LV*BIM/EMSP"], end=NOV, kwh="5", excl="2.00",
                            source="received", country="EST",
                            raw={"charging_periods": [{"tariff_id": "NOPE"}]})
    pln = await add_cdr(db, "PL-1", cpo=net.parties["LV*BIM/CPO"],
                        emsp=net.parties["EE*ELM/EMSP"], end=NOV, kwh="5", excl="9.00",
                        currency="PLN")
    for _ in range(2):
        result = await run(db, "2026-11")
        assert result.by_state == {"received": 2}
    assert [c["code"] for c in (await clearing_of(db, unknown)).checks] == ["tariff_known"]
    assert [c["code"] for c in (await clearing_of(db, pln)).checks] == ["fx_rate_known"]
    found = await _exceptions(db)
    assert [(k, s) for k, s, _ in found] == [("CDR_CHECK", "OPEN")] * 2
    assert "NOPE" in found[0][2] and "PLN" in found[1][2]
    assert await ledger_lines(db) == []
    closed = await close(db, "2026-11")
    assert closed.invoices == []


async def test_implausible_cdrs_fail_their_checks(db) -> None:
    """BAD-1 ends before it starts and has negative energy; BAD-2 is in an unknown currency
    and delivers 2000 kWh in one hour (2000 kW average, above the 1000 kW limit)."""
    net = await network(db)
    cpo, emsp = net.parties["LV*BIM/CPO"], net.parties["EE*ELM/EMSP"]
    a = await add_cdr(db, "BAD-1", cpo=cpo, emsp=emsp, end=NOV, kwh="-1", excl="1.00")
    b = await add_cdr(db, "BAD-2", cpo=cpo, emsp=emsp, end=NOV, kwh="2000", excl="1.00",
                      currency="XYZ")
    async with transaction(db) as s:
        row = await s.get(CdrRow, a)
        assert row is not None
        row.start_date_time = NOV + timedelta(hours=2)
    await run(db, "2026-11")
    assert {c["code"] for c in (await clearing_of(db, a)).checks} == {
        "end_after_start", "energy_non_negative"}
    assert {c["code"] for c in (await clearing_of(db, b)).checks} == {
        "currency_known", "power_plausible"}
    assert len(await _exceptions(db)) == 2


async def test_bank_lines_matching_nothing_or_two_invoices(db) -> None:
    """Two invoices of 5.00 EUR each (to EE-ELM and to FI-VIR). A line of 5.00 without a
    reference matches both: AMBIGUOUS. A line of 99.00 matches nothing: UNMATCHED. A line
    naming LV-BIM-000002 with 5.00 matches it. Re-importing adds no line and no exception."""
    net = await network(db)
    cpo = net.parties["LV*BIM/CPO"]
    await add_cdr(db, "I-1", cpo=cpo, emsp=net.parties["EE*ELM/EMSP"], end=NOV, kwh="5",
                  excl="5.00")
    await add_cdr(db, "I-2", cpo=cpo, emsp=net.parties["FI*VIR/EMSP"], end=NOV, kwh="5",
                  excl="5.00")
    closed = await close(db, "2026-11")
    assert sorted(closed.invoices) == ["LV-BIM-000001", "LV-BIM-000002"]

    def line(ref: str, amount: str, info: str | None) -> BankLine:
        return BankLine(entry_reference=ref, booking_date=date(2026, 12, 10), value_date=None,
                        amount=D(amount), currency="EUR", credit=True, remittance_info=info)

    lines = [line("B1", "5.00", "charging"), line("B2", "99.00", None),
             line("B3", "5.00", "Invoice LV-BIM-000002")]
    at = datetime(2026, 12, 10, tzinfo=UTC)
    async with transaction(db) as s:
        first = await import_bank_lines(s, lines, at)
    async with transaction(db) as s:
        again = await import_bank_lines(s, lines, at)
    assert (first.matched, first.ambiguous, first.unmatched) == (1, ["B1"], ["B2"])
    assert (again.imported, again.duplicates) == (0, 3)
    async with db() as s:
        assert len((await s.scalars(select(BankLineRow))).all()) == 3
    kinds = [(k, s) for k, s, _ in await _exceptions(db)]
    assert kinds == [("BANK_AMBIGUOUS", "OPEN"), ("BANK_UNMATCHED", "OPEN")]


def test_an_unbalanced_entry_is_refused_before_it_reaches_the_database() -> None:
    bad = Posting("k", "CDR", date(2026, 11, 1), "x", (
        dr(ledger.RECEIVABLE, 1, D("8.47"), "EUR"), cr(ledger.REVENUE, 2, D("7.00"), "EUR")))
    with pytest.raises(UnbalancedEntry, match=r"EUR debit-credit=1\.47"):
        bad.check()
    two_ccy = Posting("k", "CDR", date(2026, 11, 1), "x", (
        dr(ledger.RECEIVABLE, 1, D("1"), "EUR"), cr(ledger.REVENUE, 2, D("1"), "SEK")))
    with pytest.raises(UnbalancedEntry):
        two_ccy.check()
    assert dr(ledger.BANK, 1, D("-2"), "EUR").credit == D(2)  # negative debit = credit


def test_the_state_table_refuses_skipping_states() -> None:
    with pytest.raises(Conflict, match="received cannot become invoiced"):
        check_transition("received", "invoiced")
    with pytest.raises(Conflict, match="none \\(final\\)"):
        check_transition("credited", "accepted")
    assert all(t in TRANSITIONS for targets in TRANSITIONS.values() for t in targets)
