"""Benchmark: a monthly clearing close of N CDRs (default 1,000,000) across 30 parties and
3 currencies (EUR, SEK, PLN), on SQLite or PostgreSQL.

    .venv/bin/python bench/clearing.py [--cdrs N] [--db sqlite|postgres] [--pg-url URL]
                                       [--batch N] [--profile FILE]

A child process seeds the database (legal entities, parties, FX rates, CDRs, re-pricing
results for the partners' CDRs) with bulk Core inserts; the parent then times
1. the baseline: one SQL query summing the same CDRs' totals per currency, and
2. the close: ``run_clearing`` (validate, rate, book: one clearing row, one history row and
   one journal entry per CDR, the common case in bulk) + ``close_month`` (invoices, netting,
   lock, integrity check),
and prints CDRs/s, the ratio to the baseline and the parent's peak RSS (the seeding child's
memory is not counted). Targets (issue 6): under 3 minutes on PostgreSQL, peak RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from clearing.house import integrity
from clearing.house.close import close_month
from clearing.house.run import run_clearing
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.migrate import upgrade
from hub.db.models import CdrRepricingRow, CdrRow, PartyRow
from hub.db.models_clearing_ref import FxRateRow, LegalEntityRow, PartyEntityRow
from hub.settings import Settings

PARTIES = 30
CURRENCIES = {"EUR": ("LVA", "LV"), "SEK": ("SWE", "SE"), "PLN": ("POL", "PL")}
RATES = {"SEK": Decimal("11.4825"), "PLN": Decimal("4.2710")}
MONTH = "2026-11"
START = datetime(2026, 10, 31, 22, tzinfo=UTC)  # 1 November 00:00 in Riga
ZONE = "Europe/Riga"
BATCH = 10_000


def settings_for(db: str, pg_url: str, schema: str, data_dir: Path) -> Settings:
    if db == "postgres":
        return Settings(data_dir=data_dir, database_url=pg_url, database_schema=schema,
                        log_level="WARNING")
    return Settings(data_dir=data_dir, log_level="WARNING")


async def seed(settings: Settings, n: int, seed_: int) -> None:
    rnd = random.Random(seed_)
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        async with transaction(sm) as s:
            ents, cpo, emsp = [], [], []
            for i in range(PARTIES):
                ccy = list(CURRENCIES)[i % 3]
                country = CURRENCIES[ccy][1]
                e = LegalEntityRow(code=f"E{i:02d}", name=f"Entity {i}", country=country,
                                   vat_id=f"{country}{100000 + i}", currency="EUR",
                                   is_own=i == 0)
                s.add(e)
                await s.flush()
                ents.append(e.id)
                for role, out in (("CPO", cpo), ("EMSP", emsp)):
                    p = PartyRow(country_code=country, party_id=f"P{i:02d}", role=role,
                                 is_own=i == 0)
                    s.add(p)
                    await s.flush()
                    s.add(PartyEntityRow(party_pk=p.id, entity_pk=e.id))
                    out.append(p.id)
            for q, rate in RATES.items():
                for d in range(-7, 31):
                    s.add(FxRateRow(base="EUR", quote=q, rate_date=date(2026, 11, 1)
                                    + timedelta(days=d), rate=rate, source="ECB"))
        done = 0
        while done < n:
            rows, received = [], []
            for k in range(done, min(n, done + BATCH)):
                own = rnd.random() < 0.7
                partner = rnd.randrange(1, PARTIES)
                ccy = rnd.choice(list(CURRENCIES))
                end = START + timedelta(seconds=rnd.randrange(60, 29 * 86400))
                kwh = Decimal(rnd.randrange(500, 60000)) / 1000
                excl = (kwh * Decimal("0.35")).quantize(Decimal("0.01"))
                rows.append({
                    "cdr_id": f"C{k}", "cpo_party_pk": cpo[0] if own else cpo[partner],
                    "emsp_party_pk": emsp[partner] if own else emsp[0],
                    "source": "own" if own else "received",
                    "start_date_time": end - timedelta(hours=1), "end_date_time": end,
                    "token_uid": "T", "token_type": "RFID", "contract_id": "C",
                    "auth_method": "WHITELIST", "currency": ccy, "total_energy": kwh,
                    "total_time": Decimal(1), "total_cost_excl_vat": excl,
                    "location": {"id": f"L{rnd.randrange(300)}", "country": CURRENCIES[ccy][0]},
                    "tariffs": [], "charging_periods": [], "breakdown": [], "credit": False,
                    "last_updated": end, "created_at": end})
                received.append(not own)
            async with transaction(sm) as s:
                ids = (await s.scalars(insert(CdrRow).returning(
                    CdrRow.id, sort_by_parameter_order=True), rows)).all()
                reps = [{"cdr_pk": pk, "status": "OK", "tolerance": Decimal("0.01"),
                         "currency": r["currency"], "differences": [], "repriced_at": START}
                        for pk, r, rec in zip(ids, rows, received, strict=True) if rec]
                if reps:
                    await s.execute(insert(CdrRepricingRow), reps)
            done += len(rows)
    finally:
        await engine.dispose()


def _seed_child(settings_json: str, n: int, seed_: int) -> None:
    asyncio.run(seed(Settings.model_validate_json(settings_json), n, seed_))


async def measure(settings: Settings, n: int, batch: int, run_only: bool = False
                  ) -> dict[str, Any]:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        t0 = time.perf_counter()
        async with sm() as s:
            totals = (await s.execute(select(CdrRow.currency, func.sum(
                CdrRow.total_cost_excl_vat)).group_by(CdrRow.currency))).all()
        baseline = time.perf_counter() - t0
        now = datetime(2026, 12, 5, 3, tzinfo=UTC)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        ran = await run_clearing(sm, period=MONTH, zone=ZONE, now=now, batch_size=batch)
        t_run = time.perf_counter() - t0
        if run_only:
            return {"run": t_run, "ran": ran.json()}
        closed = await close_month(sm, MONTH, now=now, zone=ZONE)
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        # the close ends with this check (``check_integrity``): timed again on its own
        t1 = time.perf_counter()
        async with sm() as s:
            report = await integrity.verify(s, closed.closed)
        t_verify = time.perf_counter() - t1
        assert report.ok and not closed.integrity, (report.json(), closed.integrity)
    finally:
        await engine.dispose()
    return {"baseline": baseline, "run": t_run, "total": total, "cpu": cpu, "ran": ran.json(),
            "verify": t_verify,
            "invoices": len(closed.invoices), "nettings": len(closed.nettings),
            "periods": len(closed.closed), "currencies": len(totals)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cdrs", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--batch", type=int, default=5000, help="CDRs per transaction")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true",
                    help="PostgreSQL: keep the bench schema afterwards (to look at its plans)")
    ap.add_argument("--run-only", action="store_true",
                    help="no close (with --keep: close it by hand, e.g. to time its steps)")
    ap.add_argument("--profile", metavar="FILE",
                    help="write a cProfile of run + close to FILE (seeding not included)")
    args = ap.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "postgres":
            from hub.cli.pg import create_schema, drop_schema

            create_schema(args.pg_url, schema)
        settings = settings_for(args.db, args.pg_url, schema, Path(tmp) / "var")
        try:
            upgrade(settings)
            t0 = time.perf_counter()
            child = multiprocessing.get_context("spawn").Process(
                target=_seed_child, args=(settings.model_dump_json(), args.cdrs, args.seed))
            child.start()
            child.join()
            if child.exitcode != 0:
                raise SystemExit(f"seeding failed ({child.exitcode})")
            seeded = time.perf_counter() - t0
            if args.profile:
                import cProfile

                prof = cProfile.Profile()
                r = prof.runcall(asyncio.run, measure(settings, args.cdrs, args.batch))
                prof.dump_stats(args.profile)
            else:
                r = asyncio.run(measure(settings, args.cdrs, args.batch, args.run_only))
        finally:
            if args.db == "postgres" and not args.keep:
                drop_schema(args.pg_url, schema)
            elif args.db == "postgres":
                print(f"schema kept: {schema}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = args.cdrs
    if args.run_only:
        print(f"run only, {n:,} CDRs: {r['run']:.1f} s, {r['ran']}")
        return
    print(f"clearing close, {n:,} CDRs, {PARTIES} parties, 3 currencies, {args.db}")
    print(f"  seeding (child process, not timed below): {seeded:.1f} s")
    print(f"  baseline (one SUM query):      {r['baseline']:.2f} s  "
          f"({n / max(r['baseline'], 1e-9):,.0f} CDRs/s)")
    print(f"  run (validate, rate, book):    {r['run']:.1f} s")
    print(f"  close (invoices, netting, verify): {r['total'] - r['run']:.1f} s "
          f"(of which the integrity check, timed again alone: {r['verify']:.1f} s)")
    print(f"  run + close (invoices, netting): {r['total']:.1f} s  "
          f"({n / r['total']:,.0f} CDRs/s)")
    print(f"  CPU time of this process in run + close: {r['cpu']:.1f} s "
          "(the rest is waiting: database, other processes on the machine)")
    print(f"  ratio close / baseline:        {r['total'] / max(r['baseline'], 1e-9):,.0f}x")
    print(f"  result: {r['ran']['by_state']}, {r['invoices']} invoices, "
          f"{r['nettings']} nettings, {r['periods']} periods closed")
    print(f"  peak RSS (parent): {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
