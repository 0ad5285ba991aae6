"""A clearing run: every CDR that ended before the period's end and is not cleared yet (or is
still ``received`` after failed checks) goes through validate -> rate -> accept | dispute and,
when accepted, is booked. Batches of ``batch_size`` CDRs, one transaction each, streamed in id
order with Core (memory stays flat); a rerun picks up only what is left, so it is idempotent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clearing import fx, split, tax
from clearing.admin_repricing import reprice_row
from clearing.house import fastpath, store
from clearing.house import lifecycle as lc
from clearing.house.booking import (
    CdrFacts,
    Check,
    Fx,
    Part,
    Rated,
    cdr_posting,
    parts_from_split,
    plausibility,
)
from clearing.house.context import RunCaches
from clearing.house.ledger import Posting
from clearing.house.periods import local_date
from clearing.report import period_bounds
from clearing.repricing import OK, OUTSIDE
from hub.db.base import transaction
from hub.db.models import CdrRepricingRow, CdrRow
from hub.db.models_clearing import CdrClearingRow, ClearingRunRow, DisputeRow
from hub.domain import DomainError
from hub.domain.countries import ALPHA2

log = structlog.get_logger("clearing.house.run")
Progress = Callable[[int, int], None]
ONE = Decimal(1)
ZERO = Decimal(0)


@dataclass
class RunResult:
    period: str
    processed: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    booked: int = 0

    def json(self) -> dict[str, Any]:
        return {"period": self.period, "processed": self.processed,
                "by_state": dict(self.by_state), "booked": self.booked}


@dataclass
class Outcome:
    facts: CdrFacts
    checks: list[Check]
    steps: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    posting: Posting | None = None
    dispute: str | None = None
    original_pk: int | None = None
    existing_pk: int | None = None

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def state(self) -> str:
        return self.steps[-1][1] if self.steps else lc.RECEIVED


# A run reads the CDR's raw OCPI object (large) only for credit CDRs (their original's id).
BATCH_COLUMNS = (CdrRow.id, CdrRow.cdr_id, CdrRow.source, CdrRow.credit,
                 CdrRow.cpo_party_pk, CdrRow.emsp_party_pk, CdrRow.start_date_time,
                 CdrRow.end_date_time, CdrRow.currency, CdrRow.total_energy, CdrRow.total_time,
                 CdrRow.total_cost_excl_vat, CdrRow.total_cost_incl_vat, CdrRow.vat_country,
                 CdrRow.location)
COLUMNS = (*BATCH_COLUMNS, CdrRow.raw)
NO_RAW: dict[str, Any] = {}


def facts_of(r: Row[Any], raw: Any = None) -> CdrFacts:
    """``raw``: the CDR's raw object when ``r`` was read without it (``BATCH_COLUMNS``)."""
    loc = r.location if isinstance(r.location, dict) else {}
    country = str(loc.get("country") or "").upper()
    alpha2 = ALPHA2.get(country) or (country if len(country) == 2 else None) \
        or (r.vat_country.upper() if r.vat_country else None)
    if raw is None:
        raw = r._mapping.get("raw")
    raw = raw if isinstance(raw, dict) else {}
    evse = loc.get("evse_uid")
    return CdrFacts(
        pk=r.id, cdr_id=r.cdr_id, source=r.source, credit=bool(r.credit),
        credit_reference=str(raw["credit_reference_id"]) if raw.get("credit_reference_id")
        else None, cpo_party_pk=r.cpo_party_pk, emsp_party_pk=r.emsp_party_pk,
        start=r.start_date_time, end=r.end_date_time, currency=r.currency.upper(),
        energy=r.total_energy, time=r.total_time, excl=r.total_cost_excl_vat,
        incl=r.total_cost_incl_vat, country=alpha2,
        location_id=str(loc["id"]) if loc.get("id") else None,
        evse_uid=str(evse) if evse else None)


def _pending(end_utc: datetime, after: int) -> Any:
    return (select(*BATCH_COLUMNS, CdrClearingRow.id.label("clearing_pk"))
            .outerjoin(CdrClearingRow, CdrClearingRow.cdr_pk == CdrRow.id)
            .where(CdrRow.end_date_time < end_utc, CdrRow.id > after,
                   or_(CdrClearingRow.id.is_(None), CdrClearingRow.state == lc.RECEIVED)))


async def run_clearing(sm: async_sessionmaker[AsyncSession], *, period: str, zone: str,
                       now: datetime, batch_size: int = 2000,
                       progress: Progress | None = None, fast: bool = True) -> RunResult:
    """``fast=False`` sends every CDR through the per-CDR path (``assess``); the default
    books the common case in bulk (``clearing.house.fastpath``), with the same result."""
    _, end_utc = period_bounds(period, zone)
    result = RunResult(period)
    caches = RunCaches(zone)
    async with transaction(sm) as session:
        await caches.load(session)
        total = (await session.scalar(select(func.count()).select_from(
            _pending(end_utc, 0).subquery()))) or 0
    # Two batches in flight: while one is being written (the database works), the next one
    # is read and classified (Python works). Each batch is still one transaction of its own.
    last = 0
    inflight: list[Unit] = []
    try:
        while True:
            async with sm() as session:  # Core, not ORM: no per-row ORM bookkeeping
                rows = (await (await session.connection()).execute(
                    _pending(end_utc, last).order_by(CdrRow.id).limit(batch_size))).all()
            if not rows:
                break
            last = rows[-1].id
            unit = Unit(inflight[-1] if inflight else None)
            unit.task = asyncio.create_task(_unit(sm, rows, caches, now, result, fast, unit))
            inflight.append(unit)
            if len(inflight) > 1:
                await inflight.pop(0).task
                if progress is not None:
                    progress(result.processed, total)
        while inflight:
            await inflight.pop(0).task
            if progress is not None:
                progress(result.processed, total)
    except BaseException:
        for u in inflight:
            u.task.cancel()
        await asyncio.gather(*(u.task for u in inflight), return_exceptions=True)
        raise
    async with transaction(sm) as session:
        session.add(ClearingRunRow(kind="RUN", period=period, started_at=now,
                                   finished_at=datetime.now(now.tzinfo), counts=result.json()))
    log.info("clearing.run", **result.json())
    return result


@dataclass(eq=False)
class Unit:
    """One batch of a run in flight, and the one before it."""

    before: Unit | None
    task: asyncio.Task[None] = field(init=False)
    # The batch looked up agreements or periods: they may be rows created in its transaction.
    filled: bool = False

    async def committed(self) -> None:
        """Wait until the batch before this one is committed (or raise its error)."""
        if self.before is not None:
            await self.before.task


async def _unit(sm: async_sessionmaker[AsyncSession], rows: Sequence[Row[Any]],
                caches: RunCaches, now: datetime, result: RunResult, fast: bool, unit: Unit
                ) -> None:
    async with transaction(sm) as session:
        await _batch(session, rows, caches, now, result, fast, unit)


async def _batch(session: AsyncSession, rows: Sequence[Row[Any]], caches: RunCaches,
                 now: datetime, result: RunResult, fast: bool = True,
                 unit: Unit | None = None) -> None:
    """Classify and book one batch. The common case is written in bulk
    (``clearing.house.fastpath``), the rest CDR by CDR through ``assess``.

    With two batches in flight, a batch holds ``caches.lock`` while it classifies and runs
    the per-CDR path, and writes its common case outside it, so the next batch is classified
    while this one's rows go to the database. The per-CDR path runs only after the batch
    before is committed (a credit CDR must find an original booked there), and so does
    everything after a batch before that looked up agreements or periods (cached rows that
    may be its own, not committed yet)."""
    unit = unit if unit is not None else Unit(None)
    async with caches.lock:  # one batch at a time reads and fills the run's caches
        if unit.before is not None and unit.before.filled:
            await unit.committed()  # it holds no lock now: it is writing or committing
        fills = caches.fills
        raws = await _raws(session, [r.id for r in rows if r.credit])
        # ``NO_RAW``, not None: the batch rows have no raw column to look up (slow miss)
        facts = [(facts_of(r, raws.get(r.id, NO_RAW)), r.clearing_pk) for r in rows]
        lo, hi = rows[0].id, rows[-1].id  # the batch is in id order
        repricing = await _repricings(session, lo, hi) \
            if any(f.source == "received" for f, _ in facts) else {}
        booked = await fastpath.booked_cdrs(session, lo, hi) if fast else set()
        common: list[fastpath.Common] = []
        rest: list[tuple[CdrFacts, int | None]] = []
        for f, existing in facts:
            if fast and not f.credit and existing is None and f.pk not in booked:
                done = await fastpath.classify(session, f, caches, repricing, now)
                if done is not None:
                    common.append(done)
                    continue
            rest.append((f, existing))
        if rest:
            await _write_common(session, common, now, result)
            await unit.committed()
            # Originals before their credits, so a credit in the same batch finds its
            # original.
            for credits in (False, True):
                outcomes = []
                for f, existing in rest:
                    if f.credit is credits:
                        out = await assess(session, f, caches, repricing, now)
                        out.existing_pk = existing
                        outcomes.append(out)
                await _write(session, outcomes, now, result)
        unit.filled = caches.fills != fills
    if not rest:
        await _write_common(session, common, now, result)


async def _write_common(session: AsyncSession, common: list[fastpath.Common], now: datetime,
                        result: RunResult) -> None:
    if common:
        await fastpath.write(session, common, now)
        result.processed += len(common)
        result.booked += len(common)
        result.by_state[lc.ACCEPTED] += len(common)


async def _raws(session: AsyncSession, pks: list[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for i in range(0, len(pks), 500):
        out.update({pk: raw for pk, raw in (await session.execute(
            select(CdrRow.id, CdrRow.raw).where(CdrRow.id.in_(pks[i:i + 500])))).all()})
    return out


async def _repricings(session: AsyncSession, lo: int, hi: int) -> dict[int, tuple[str, str]]:
    """The stored re-pricing results of the CDRs with ids lo..hi (one range query)."""
    return {pk: (status, message or "") for pk, status, message in (await session.execute(
        select(CdrRepricingRow.cdr_pk, CdrRepricingRow.status, CdrRepricingRow.message)
        .where(CdrRepricingRow.cdr_pk >= lo, CdrRepricingRow.cdr_pk <= hi))).all()}


async def assess(session: AsyncSession, f: CdrFacts, c: RunCaches,
                 repricing: dict[int, tuple[str, str]], now: datetime) -> Outcome:
    """Validate, rate and (when accepted) book one CDR; failures become checks."""
    out = Outcome(f, plausibility(f))
    supplier = c.party_entity.get(f.cpo_party_pk)
    direct = f.source == "own" and (f.emsp_party_pk is None or f.emsp_party_pk in c.own_parties)
    customer = supplier if direct else c.party_entity.get(f.emsp_party_pk or -1)
    out.checks.append(Check("entities_known", supplier is not None and customer is not None,
                            "no legal entity for the CDR's "
                            + ("CPO" if supplier is None else "eMSP") + " party"))
    original = None
    if f.credit:
        original = await _original(session, f)
        usable = original is not None and (original[2] or original[1] == lc.CREDITED)
        out.checks.append(Check("credit_original_known", usable,
                                f"credit CDR for {f.credit_reference or 'no reference'}: "
                                + ("unknown original" if original is None
                                   else f"original is {original[1]}, not booked")))
    if out.failed or supplier is None or customer is None or f.country is None:
        return out
    agreement = await c.agreement(session, supplier, customer, now)
    on = local_date(f.end, c.zone)
    rated: Rated | None = None
    try:
        decision = c.decision(supplier, customer, direct, f.country, on,
                              agreement.b2b_vat_option)
        ccy = agreement.settlement_currency
        fx_info = None
        net = f.excl
        if f.currency != ccy:
            rates = {f.currency: await c.rate(session, f.currency, on),
                     ccy: await c.rate(session, ccy, on)}
            net, cross = fx.convert(f.excl, f.currency, ccy, rates)
            rate_date = rates[f.currency].rate_date if f.currency != "EUR" \
                else rates[ccy].rate_date
            fx_info = Fx(f.currency, f.excl, cross, rate_date,
                         f"ECB reference rate {rate_date.isoformat()}, via EUR, half-up")
        rated = Rated(ccy, net, tax.vat_amount(net, decision, ccy), decision, fx_info)
    except fx.MissingFxRate as exc:
        out.checks.append(Check("fx_rate_known", False, exc.message))
    except DomainError as exc:
        out.checks.append(Check("vat_rate_known", False, exc.message))
    if f.source == "received":
        if f.pk not in repricing:
            repricing[f.pk] = await _reprice(session, f.pk, now)
        status, message = repricing[f.pk]
        out.checks.append(Check("tariff_known", status in (OK, OUTSIDE),
                                f"re-pricing {status}: {message}"))
    if out.failed or rated is None:
        return out
    out.steps = lc.path(lc.RECEIVED, lc.VALIDATED, lc.RATED)
    period_pk, period_start = await c.period(session, agreement, on, now)
    out.values = {"supplier_pk": supplier.id, "customer_pk": customer.id,
                  "period_pk": period_pk, "direct": direct,
                  # a credit's energy counts negative, so that it nets its original out
                  "energy": -f.energy if f.credit else f.energy,
                  "currency": rated.currency, "net": rated.net, "vat": rated.vat,
                  "tax_rule": rated.decision.rule, "vat_rate": rated.decision.rate,
                  "vat_country": rated.decision.vat_country,
                  "credit_of_pk": original[0] if original else None}
    if f.source == "received" and repricing.get(f.pk, ("",))[0] == OUTSIDE:
        out.steps += lc.path(lc.RATED, lc.DISPUTED)
        out.dispute = f"re-priced outside the agreement's tolerance: {repricing[f.pk][1]}"
        return out
    parts = None
    if f.source == "own":
        try:
            parts = await _split(session, f, rated, supplier.code, c, on)
        except (DomainError, KeyError) as exc:
            out.checks.append(Check("split", False, f"revenue split failed: {exc}"))
            out.steps = []
            return out
    out.steps += lc.path(lc.RATED, lc.ACCEPTED)
    if original is not None and not original[2]:
        # The original was written off in a dispute: nothing to reverse, nothing to book.
        out.steps += lc.path(lc.ACCEPTED, lc.CREDITED)
        return out
    out.original_pk = original[0] if original else None
    out.posting = cdr_posting(f, rated, supplier_pk=supplier.id, customer_pk=customer.id,
                              direct=direct, parts=parts, booked_on=max(on, period_start),
                              period_pk=period_pk, key=f"cdr:{f.pk}")
    return out


async def _reprice(session: AsyncSession, pk: int, now: datetime) -> tuple[str, str]:
    row = await session.get(CdrRow, pk)
    assert row is not None
    rep = await reprice_row(session, row, now)
    return rep.status, rep.message or ""


async def _split(session: AsyncSession, f: CdrFacts, rated: Rated, supplier_code: str,
                 c: RunCaches, on: Any) -> list[Part]:
    owner = await c.owner_code(session, f.location_id, on)
    rules = await c.split_rules(session, owner, f.location_id, on)
    sign = -ONE if rated.net < 0 else ONE
    if not rules:  # the common case, as split() would do it: VAT to TAX, the rest to the owner
        residual = c.codes.get(owner or supplier_code)
        if residual is None:
            raise KeyError(owner or supplier_code)
        return [Part("TAX", None, ZERO, rated.vat, rated.vat, "VAT of the sale"),
                Part("OWNER", residual, rated.net, ZERO, rated.net, "remainder")]
    parts = split.split(
        split.SplitInput(gross=sign * rated.gross, vat=sign * rated.vat,
                         currency=rated.currency, energy_kwh=f.energy, country=f.country or "",
                         on=on),
        rules, residual_entity=owner or supplier_code, tax_entity=f"TAX-{f.country}")
    return parts_from_split(parts, c.codes, sign)


async def _original(session: AsyncSession, f: CdrFacts) -> tuple[int, str, bool] | None:
    if not f.credit_reference:
        return None
    row = (await session.execute(
        select(CdrClearingRow.id, CdrClearingRow.state, CdrClearingRow.booked)
        .join(CdrRow, CdrRow.id == CdrClearingRow.cdr_pk)
        .where(CdrRow.cpo_party_pk == f.cpo_party_pk, CdrRow.cdr_id == f.credit_reference,
               CdrRow.credit.is_(False)))).first()
    return (row.id, row.state, bool(row.booked)) if row is not None else None


async def _write(session: AsyncSession, outcomes: list[Outcome], now: datetime,
                 result: RunResult) -> None:
    retried = [o for o in outcomes if o.existing_pk is not None]
    fresh = [o for o in outcomes if o.existing_pk is None]
    if fresh:
        await store.bulk_insert(session, store.core(CdrClearingRow),
                                [_row(o, now) for o in fresh])
        pks = await store.ids_by(session, CdrClearingRow.id, CdrClearingRow.cdr_pk,
                                 [o.facts.pk for o in fresh])
        for o in fresh:
            o.existing_pk = pks[o.facts.pk]
    for o in retried:
        await session.execute(update(CdrClearingRow).where(
            CdrClearingRow.id == o.existing_pk).values(
            {k: v for k, v in _row(o, now).items() if k != "created_at"}))
    history = [h for o in outcomes for h in store.history_rows(
        o.existing_pk or 0, o.steps, _reason(o), now)]
    if history:
        await store.bulk_insert(session, store.core(store.CdrTransitionRow), history)
    result.booked += await store.post_many(
        session, [o.posting for o in outcomes if o.posting is not None], now)
    for o in outcomes:
        result.processed += 1
        result.by_state[o.state] += 1
        key = f"cdr:{o.facts.pk}"
        if o.failed:
            await store.raise_exception(session, key, "CDR_CHECK", f"CDR {o.facts.cdr_id}: " +
                                        "; ".join(c.message for c in o.failed), now,
                                        cdr_pk=o.facts.pk)
        if o.dispute is not None:
            session.add(DisputeRow(clearing_pk=o.existing_pk, reason=o.dispute, opened_at=now))
        if o.original_pk is not None:
            await _credit_original(session, o.original_pk, o.facts, now)
    await store.resolve_exceptions(
        session, [f"cdr:{o.facts.pk}" for o in retried if not o.failed], now)
    await session.flush()


EMPTY: dict[str, Any] = {
    "supplier_pk": None, "customer_pk": None, "period_pk": None, "direct": False,
    "energy": None, "currency": None, "net": None, "vat": None, "tax_rule": None,
    "vat_rate": None, "vat_country": None, "credit_of_pk": None}


def _row(o: Outcome, now: datetime) -> dict[str, Any]:
    """Every column, so that a batch's rows all have the same keys (executemany, COPY)."""
    return {**EMPTY, "cdr_pk": o.facts.pk, "state": o.state,
            "checks": [c.json() for c in o.checks if not c.ok] if o.failed else [],
            "booked": o.posting is not None, "message": "; ".join(
                c.message for c in o.failed) or o.dispute, "updated_at": now,
            "created_at": now, **o.values}


def _reason(o: Outcome) -> str | None:
    if o.dispute:
        return o.dispute
    return "checks passed" if o.steps else None


async def _credit_original(session: AsyncSession, original_pk: int, f: CdrFacts,
                           now: datetime) -> None:
    row = await session.get(CdrClearingRow, original_pk)
    if row is not None and row.state in lc.TRANSITIONS and lc.CREDITED in \
            lc.TRANSITIONS[row.state]:
        await store.move(session, row, lc.CREDITED, f"credited by CDR {f.cdr_id}", now)
