"""The common case of a clearing run, booked in bulk.

Most CDRs of a month are plain: they pass every check, are accepted at the claimed price (our
own, or a partner's re-priced within tolerance), have no revenue-split rules (VAT to the tax
authority, the rest to the owner) and at most need one ECB rate per currency and day. For
them ``classify`` decides in a few dictionary look-ups and ``write`` books a whole batch with
a handful of statements (PostgreSQL ``COPY``; primary keys reserved up front, so nothing is
read back): per CDR one clearing row, ONE history row for the run's path (received ->
validated -> rated -> accepted, expanded by ``lifecycle.expand`` when shown), one journal
entry and its two or three lines.

Everything else (a failed or doubtful check, a credit CDR, a dispute, split rules, a re-priced
CDR without a stored result, a zero amount, a CDR retried after an exception, a key already
booked) returns ``None`` from ``classify`` and goes through ``clearing.house.run.assess``,
the per-CDR path. The figures and lines written here are exactly those of ``assess`` +
``booking.cdr_posting`` (tests/clearing/test_house_bulk.py runs the same CDRs through both
and compares every row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from clearing import fx, tax
from clearing.house import ledger, store
from clearing.house import lifecycle as lc
from clearing.house.booking import MAX_AVERAGE_KW, CdrFacts
from clearing.house.context import RunCaches
from clearing.money import MINOR_UNITS
from clearing.repricing import OK
from hub.db.models_clearing import (
    CdrClearingRow,
    CdrTransitionRow,
    JournalEntryRow,
    JournalLineRow,
)
from hub.domain import DomainError

ZERO = Decimal(0)
REASON = "checks passed"


@dataclass(slots=True)
class Common:
    """A CDR of the common case with its rated figures and booking parties."""

    f: CdrFacts
    supplier_pk: int
    customer_pk: int
    direct: bool
    period_pk: int
    booked_on: date
    currency: str
    net: Decimal
    vat: Decimal
    decision: tax.TaxDecision
    fx: tuple[str, Decimal, Decimal, date, str] | None  # orig ccy, orig net, rate, date, rule
    owner_pk: int | None  # own sessions: who gets the net (the residual of the split)


async def booked_cdrs(session: AsyncSession, lo: int, hi: int) -> set[int]:
    """CDR pks in lo..hi that already have their ``cdr:<pk>`` entry (one range query)."""
    return {pk for pk, key in (await session.execute(
        select(JournalEntryRow.cdr_pk, JournalEntryRow.key).where(
            JournalEntryRow.cdr_pk >= lo, JournalEntryRow.cdr_pk <= hi))).all()
        if pk is not None and key == f"cdr:{pk}"}


async def classify(session: AsyncSession, f: CdrFacts, c: RunCaches,
                   repricing: dict[int, tuple[str, str]], now: datetime) -> Common | None:
    """The rated figures of ``f`` if it is a common case, else None (-> ``assess``).

    The checks are those of ``booking.plausibility`` and ``run.assess``, some stricter
    (zero time or amount go to the per-CDR path), none weaker."""
    if f.credit or f.country is None or not (
            f.end > f.start and f.energy >= 0 and f.time > 0 and f.excl > 0
            and f.currency in MINOR_UNITS and (f.incl is None or f.incl >= f.excl)
            and f.energy <= MAX_AVERAGE_KW * f.time):
        return None
    supplier = c.party_entity.get(f.cpo_party_pk)
    own = f.source == "own"
    direct = own and (f.emsp_party_pk is None or f.emsp_party_pk in c.own_parties)
    customer = supplier if direct else c.party_entity.get(f.emsp_party_pk or -1)
    if supplier is None or customer is None:
        return None
    if not own and (f.source != "received" or repricing.get(f.pk, ("",))[0] != OK):
        return None
    agreement = c.agreements.get((min(supplier.id, customer.id), max(supplier.id, customer.id))) \
        or await c.agreement(session, supplier, customer, now)
    on = f.end.astimezone(c.tz).date()  # periods.local_date
    ccy = agreement.settlement_currency
    try:
        decision = c.decision(supplier, customer, direct, f.country, on,
                              agreement.b2b_vat_option)
        net = f.excl
        conversion = None
        if f.currency != ccy:
            key = ("fx", f.currency, ccy, on)
            fx_day = c.memo.get(key)
            if fx_day is None:
                rates = {f.currency: await c.rate(session, f.currency, on),
                         ccy: await c.rate(session, ccy, on)}
                rate_date = rates[f.currency].rate_date if f.currency != "EUR" \
                    else rates[ccy].rate_date
                fx_day = c.memo[key] = (rates, rate_date, f"ECB reference rate "
                                        f"{rate_date.isoformat()}, via EUR, half-up")
            net, cross = fx.convert(f.excl, f.currency, ccy, fx_day[0])
            conversion = (f.currency, f.excl, cross, fx_day[1], fx_day[2])
    except DomainError:  # no rate, no VAT rate: the per-CDR path records the failed check
        return None
    if net <= 0:
        return None
    owner_pk = None
    if own:
        okey = ("owner", f.location_id, on, supplier.code)
        owner_pk = c.memo.get(okey, -1)
        if owner_pk == -1:
            owner = await c.owner_code(session, f.location_id, on)
            # None: split rules apply, or an unknown owner: the per-CDR path
            owner_pk = c.memo[okey] = None if await c.split_rules(
                session, owner, f.location_id, on) else c.codes.get(owner or supplier.code)
        if owner_pk is None:
            return None
    period_pk, period_start = c.periods.get((agreement.pk, on.replace(day=1))) \
        or await c.period(session, agreement, on, now)
    return Common(f, supplier.id, customer.id, direct, period_pk, max(on, period_start), ccy,
                  net, tax.vat_amount(net, decision, ccy), decision, conversion, owner_pk)


CLEARING_COLUMNS = (
    "id", "cdr_pk", "state", "period_pk", "supplier_pk", "customer_pk", "credit_of_pk",
    "checks", "booked", "direct", "energy", "currency", "net", "vat", "tax_rule", "vat_rate",
    "vat_country", "invoice_line_pk", "message", "created_at", "updated_at")
HISTORY_COLUMNS = ("clearing_pk", "from_state", "to_state", "reason", "at")
ENTRY_COLUMNS = ("id", "key", "period_pk", "kind", "booked_on", "description", "cdr_pk",
                 "created_at")
LINE_COLUMNS = ("entry_pk", *store.LINE_FIELDS)


def lines(x: Common, entry_pk: int) -> list[tuple[object, ...]]:
    """The journal lines of ``booking.cdr_posting`` for a common case (zero lines left out):
    Dr receivable (customer) gross / Cr payable (partner supplier) gross, or, for our own
    session without split rules, Cr VAT output (the TAX part) and the net to the owner
    (revenue when the owner is the supplier, else its split payable)."""
    f, d, ccy, ref = x.f, x.decision, x.currency, x.f.cdr_id
    gross = x.net + x.vat
    if x.fx is None:
        oc = orig = rate = rdate = rule = None
    else:
        oc, orig, rate, rdate, rule = x.fx
    debit = ledger.DRIVER_RECEIVABLE if x.direct else ledger.RECEIVABLE
    # (entry_pk, account, entity_pk, debit, credit, currency, counterparty_pk, role, tax_rule,
    #  vat_rate, vat_country, original_currency, original_amount, fx_rate, fx_rate_date,
    #  fx_rule, reference): store.LINE_FIELDS
    out: list[tuple[object, ...]] = [
        (entry_pk, debit, x.customer_pk, gross, ZERO, ccy, x.supplier_pk, None, d.rule, d.rate,
         d.vat_country, oc, orig, rate, rdate, rule, ref)]
    if f.source != "own":
        out.append((entry_pk, ledger.PAYABLE, x.supplier_pk, ZERO, gross, ccy, x.customer_pk,
                    None, d.rule, d.rate, d.vat_country, oc, orig, rate, rdate, rule, ref))
        return out
    if x.vat:
        out.append((entry_pk, ledger.VAT_OUTPUT, None, ZERO, x.vat, ccy, None, "TAX", d.rule,
                    d.rate, d.vat_country, oc, None, rate, rdate, rule, ref))
    if x.owner_pk == x.supplier_pk:
        out.append((entry_pk, ledger.REVENUE, x.owner_pk, ZERO, x.net, ccy, None, "OWNER",
                    None, None, None, None, None, None, None, None, ref))
    else:
        out.append((entry_pk, ledger.SPLIT_PAYABLE, x.owner_pk, ZERO, x.net, ccy,
                    x.supplier_pk, "OWNER", None, None, None, None, None, None, None, None,
                    ref))
    return out


async def write(session: AsyncSession, items: list[Common], now: datetime) -> None:
    """Book ``items``: their clearing rows (accepted), one history row each, their entries
    (key ``cdr:<pk>``, as ``store.post_many``) and lines; one statement per table."""
    n = len(items)
    copy = store.copies(await session.connection())
    no_checks: object = "[]" if copy else []  # COPY takes the JSON text
    clearing_ids = await store.reserve_ids(session, store.core(CdrClearingRow), n)
    entry_ids = await store.reserve_ids(session, store.core(JournalEntryRow), n)
    clearing, history, entries, journal = [], [], [], []
    for x, cpk, epk in zip(items, clearing_ids, entry_ids, strict=True):
        f, d = x.f, x.decision
        clearing.append((cpk, f.pk, lc.ACCEPTED, x.period_pk, x.supplier_pk, x.customer_pk,
                         None, no_checks, True, x.direct, f.energy, x.currency, x.net, x.vat,
                         d.rule, d.rate, d.vat_country, None, None, now, now))
        history.append((cpk, lc.RECEIVED, lc.ACCEPTED, REASON, now))
        entries.append((epk, f"cdr:{f.pk}", x.period_pk, "CDR", x.booked_on,
                        f"CDR {f.cdr_id}: {f.energy} kWh, {d.rule} {d.rate}%", f.pk, now))
        journal += lines(x, epk)
    await store.copy_rows(session, store.core(CdrClearingRow), CLEARING_COLUMNS, clearing,
                          json_ready=copy)
    await store.copy_rows(session, store.core(CdrTransitionRow), HISTORY_COLUMNS, history)
    await store.copy_rows(session, store.core(JournalEntryRow), ENTRY_COLUMNS, entries)
    await store.copy_rows(session, store.core(JournalLineRow), LINE_COLUMNS, journal)
