"""Worked examples: a Finnish session split among all parties (VAT per part), and a Swedish
session in SEK netted against euro positions, then paid through a bank statement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from clearing.entities import assign_owner, create_entity
from clearing.finance.documents import BankLine
from clearing.fx import store_rate
from clearing.house import ledger
from clearing.house.documents import remittances
from clearing.house.periods import set_agreement
from clearing.house.settle import import_bank_lines
from clearing.split import SplitRule, save_rule
from hub.db.base import transaction
from hub.db.models import CdrRepricingRow
from hub.db.models_clearing import JournalLineRow, NettingRow
from tests.clearing.test_house_support import (
    NOV,
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


def rule(role: str, code: str, basis: str, *, amount: str | None = None,
         percent: str | None = None, tax_rule: str = "DOMESTIC_VAT", vat: str = "25.5"
         ) -> SplitRule:
    return SplitRule(id=0, role=role, entity_code=code, basis=basis,  # type: ignore[arg-type]
                     amount=D(amount) if amount else None,
                     percent=D(percent) if percent else None,
                     tax_rule=tax_rule, vat_rate=D(vat),  # type: ignore[arg-type]
                     valid_from=date(2026, 1, 1), valid_to=None, scope="ALL", scope_id=None)


async def test_finnish_session_split_among_all_parties(db) -> None:
    """A driver of our own app charges 30 kWh at a Finnish owner's station (location FI-LOC),
    12.00 EUR excl. VAT, in November 2026.

    Driver (consumer) in Finland: Finnish VAT 25.5 %: 12.00 x 0.255 = 3.06; paid 15.06.
    Split of the 15.06 (each part's VAT half-up to the cent):
    - TAX (Finnish VAT):                               3.06
    - RETAILER 0.10 EUR/kWh x 30 = 3.00 + 25.5 % 0.765 -> 0.77 = 3.77
    - DSO      0.04 EUR/kWh x 30 = 1.20 + 25.5 % 0.306 -> 0.31 = 1.51
    - PAYMENT_PROVIDER 1.5 % x 15.06 + 0.25 = 0.4759 -> 0.48 + 25.5 % 0.1224 -> 0.12 = 0.60
    - PLATFORM (us, LV-BIM) 0.50 per session, reverse charge (B2B to the Finnish owner) = 0.50
    - OWNER (remainder) 15.06 - 3.06 - 3.77 - 1.51 - 0.60 - 0.50 = 5.62
    Booking: Dr 1210 driver receivable 15.06 = Cr 2400 VAT 3.06 + 2100 split payables
    (3.77, 1.51, 0.60, 5.62) + 3000 revenue 0.50. The owner's remittance: revenue 15.06,
    fees by role, payout 5.62.
    """
    net = await network(db)
    async with transaction(db) as s:
        for code in ("FI-OWN", "FI-RET", "FI-DSO", "FI-PSP"):
            await create_entity(s, code, {"name": code, "country": "FI",
                                          "vat_id": f"FI{code[-3:]}00001"})
        await assign_owner(s, "LOCATION", "FI-LOC", "FI-OWN", date(2026, 1, 1))
        for r in (rule("RETAILER", "FI-RET", "PER_KWH", amount="0.10"),
                  rule("DSO", "FI-DSO", "PER_KWH", amount="0.04"),
                  rule("PAYMENT_PROVIDER", "FI-PSP", "PERCENT_PLUS_FIXED", amount="0.25",
                       percent="1.5"),
                  rule("PLATFORM", "LV-BIM", "PER_SESSION", amount="0.50",
                       tax_rule="REVERSE_CHARGE", vat="0")):
            await save_rule(s, r)
    pk = await add_cdr(db, "FI-1", cpo=net.parties["LV*BIM/CPO"],
                       emsp=net.parties["LV*BIM/EMSP"], end=NOV, kwh="30", excl="12.00",
                       country="FIN", location_id="FI-LOC")
    await run(db, "2026-11")
    row = await clearing_of(db, pk)
    assert (row.state, row.direct, row.vat, row.tax_rule, row.vat_rate, row.vat_country) == (
        "accepted", True, D("3.06"), "DOMESTIC_VAT", D("25.5"), "FI")
    async with db() as s:
        codes = {v: k for k, v in {**net.entities, **{
            c: (await s.scalar(select(JournalLineRow.entity_pk).where(
                JournalLineRow.role == role)))
            for c, role in (("FI-OWN", "OWNER"), ("FI-RET", "RETAILER"), ("FI-DSO", "DSO"),
                            ("FI-PSP", "PAYMENT_PROVIDER"))}}.items()}
    got = [(acc, codes.get(ent) if ent else None, d, c, role)
           for acc, ent, d, c, role in await ledger_lines(db, pk)]
    assert got == [
        (ledger.DRIVER_RECEIVABLE, "LV-BIM", D("15.06"), D(0), None),
        (ledger.VAT_OUTPUT, None, D(0), D("3.06"), "TAX"),
        (ledger.SPLIT_PAYABLE, "FI-RET", D(0), D("3.77"), "RETAILER"),
        (ledger.SPLIT_PAYABLE, "FI-DSO", D(0), D("1.51"), "DSO"),
        (ledger.SPLIT_PAYABLE, "FI-PSP", D(0), D("0.60"), "PAYMENT_PROVIDER"),
        (ledger.REVENUE, "LV-BIM", D(0), D("0.50"), "PLATFORM"),
        (ledger.SPLIT_PAYABLE, "FI-OWN", D(0), D("5.62"), "OWNER"),
    ]
    await close(db, "2026-11")
    assert await invoices(db) == []  # a sale to a driver: no invoice between entities
    async with db() as s:
        [rem] = await remittances(s, "2026-11", net.entities["LV-BIM"])
    assert (rem.owner.name, rem.total_payout) == ("FI-OWN", D("5.62"))
    [line] = rem.lines
    assert (line.reference, line.sessions, line.revenue) == ("FI-LOC", 1, D("15.06"))
    assert dict(line.fees) == {"DSO": D("1.51"), "PAYMENT_PROVIDER": D("0.60"),
                               "PLATFORM": D("0.50"), "RETAILER": D("3.77"), "TAX": D("3.06")}
    await assert_every_entry_balances(db)


async def test_swedish_session_in_sek_netted_against_euro(db) -> None:
    """Our driver (LV-BIM eMSP) charges at Laddbolaget's (SE-CHG) Swedish station: the CDR
    says 200.00 SEK excl. VAT (re-priced within tolerance). The agreement LV-BIM <-> SE-CHG
    settles in EUR with netting. ECB rate of 10 Nov 2026: 1 EUR = 11.5 SEK, so
    200.00 / 11.5 = 17.3913... -> 17.39 EUR (cross rate 1/11.5 = 0.086957, stored on the line).
    Supplier SE, customer LV, supply in SE, B2B with VAT ids: reverse charge, VAT 0.
    A Swedish driver (SE-CHG eMSP) charges at our Latvian station: 10.00 EUR, reverse charge.

    Closing November: LV-BIM-000001 (10.00 to SE-CHG), SE-CHG-000001 (17.39 to LV-BIM);
    netting 17.39 - 10.00 = 7.39 EUR, LV-BIM pays SE-CHG. A bank line of 7.39 EUR naming the
    netting reference settles both invoices and their CDRs; importing it again changes nothing.
    """
    net = await network(db)
    lv, se = net.entities["LV-BIM"], net.entities["SE-CHG"]
    async with transaction(db) as s:
        await set_agreement(s, lv, se, now=NOV, settlement_currency="EUR", netting=True)
        await store_rate(s, "SEK", date(2026, 11, 10), D("11.5"), "ECB")
    sek = await add_cdr(db, "SE-1", cpo=net.parties["SE*CHG/CPO"],
                        emsp=net.parties["LV*BIM/EMSP"], end=NOV, kwh="25", excl="200.00",
                        currency="SEK", country="SWE", source="received")
    async with transaction(db) as s:
        s.add(CdrRepricingRow(cdr_pk=sek, status="OK", tolerance=D("0.01"), currency="SEK",
                              repriced_at=NOV))
    eur = await add_cdr(db, "LV-9", cpo=net.parties["LV*BIM/CPO"],
                        emsp=net.parties["SE*CHG/EMSP"], end=NOV, kwh="20", excl="10.00")
    await run(db, "2026-11")
    row = await clearing_of(db, sek)
    assert (row.currency, row.net, row.vat, row.tax_rule) == ("EUR", D("17.39"), D(0),
                                                             "REVERSE_CHARGE")
    async with db() as s:
        fx_lines = (await s.scalars(select(JournalLineRow).where(
            JournalLineRow.reference == "SE-1"))).all()
    assert {(x.original_currency, x.original_amount, x.fx_rate, x.fx_rate_date)
            for x in fx_lines} == {("SEK", D("200.00"), D("0.086957"), date(2026, 11, 10))}
    closed = await close(db, "2026-11")
    assert sorted(closed.invoices) == ["LV-BIM-000001", "SE-CHG-000001"]
    async with db() as s:
        [netting] = (await s.scalars(select(NettingRow))).all()
    assert (netting.payer_pk, netting.payee_pk, netting.currency, netting.receivable,
            netting.payable, netting.amount) == (lv, se, "EUR", D("10.00"), D("17.39"),
                                                 D("7.39"))
    line = BankLine(entry_reference="STMT1-1", booking_date=date(2026, 12, 20),
                    value_date=None, amount=D("7.39"), currency="EUR", credit=False,
                    remittance_info=f"{netting.reference} clearing November")
    async with transaction(db) as s:
        first = await import_bank_lines(s, [line], datetime(2026, 12, 20, tzinfo=UTC))
    async with transaction(db) as s:
        again = await import_bank_lines(s, [line], datetime(2026, 12, 21, tzinfo=UTC))
    assert (first.matched, again.imported, again.duplicates) == (1, 0, 1)
    assert {inv.status for inv, _ in await invoices(db)} == {"PAID"}
    assert (await clearing_of(db, sek)).state == (await clearing_of(db, eur)).state == "settled"
    receivables = sum((d - c for acc, ent, d, c, _ in await ledger_lines(db)
                       if acc == ledger.RECEIVABLE), D(0))
    assert receivables == 0  # both sides paid
    await assert_every_entry_balances(db)


async def test_housing_cooperative_monthly_cost_pass_through(db) -> None:
    """A housing cooperative (LV-COOP, owner of location COOP) passes its meter's November
    cost through at cost: meter invoice 600 kWh, energy 61.00 + network 29.00 = 90.00 EUR excl.
    VAT (``CostPrice.allocate``, shares by kWh, cents rounded down and handed out by largest
    remainder):
    - member A 200 kWh: energy 61.00 x 200/600 = 20.333.. -> 20.33, network 9.666.. -> 9.67
      (the left-over cent of network goes to the largest fraction) = 30.00;
    - member B 100 kWh: 10.166.. -> 10.17 (energy's left-over cent), 4.833.. -> 4.83 = 15.00;
    - laundry 250 kWh and the common remainder 50 kWh carry the rest (45.00).
    The members charge through our app: CDRs of 30.00 and 15.00 excl. VAT, Latvian VAT 21 %
    (6.30 and 3.15) to the tax authority. Without split rules the remainder of each sale goes
    to the owner: 36.30 - 6.30 = 30.00 and 18.15 - 3.15 = 15.00; the cooperative's remittance
    pays out 45.00, exactly the members' share of its invoice: it neither earns nor loses.
    """
    from clearing.models.cooperative import CostPrice, MeterInvoice

    alloc = CostPrice(currency="EUR", roaming_kwh_price=D("0.20")).allocate(
        MeterInvoice(D(600), {"energy": D("61.00"), "network": D("29.00")}),
        {"A": D(200), "B": D(100)}, {"laundry": D(250)})
    a, b = alloc.share("A"), alloc.share("B")
    assert (a.total, b.total) == (D("30.00"), D("15.00"))
    net = await network(db)
    async with transaction(db) as s:
        await create_entity(s, "LV-COOP", {"name": "Housing cooperative", "country": "LV"})
        await assign_owner(s, "LOCATION", "COOP", "LV-COOP", date(2026, 1, 1))
    for who, share in (("A", a), ("B", b)):
        await add_cdr(db, f"COOP-{who}", cpo=net.parties["LV*BIM/CPO"],
                      emsp=net.parties["LV*BIM/EMSP"], end=NOV, kwh=str(share.kwh),
                      excl=str(share.total), location_id="COOP")
    await close(db, "2026-11")
    async with db() as s:
        [rem] = await remittances(s, "2026-11", net.entities["LV-BIM"])
    assert (rem.owner.name, rem.total_payout) == ("Housing cooperative", a.total + b.total)
    [line] = rem.lines
    assert (line.sessions, line.revenue, dict(line.fees)) == (
        2, D("54.45"), {"TAX": D("9.45")})
    await assert_every_entry_balances(db)
