"""Benchmark: price N synthetic sessions (default 1,000,000) over a mix of OCPI tariffs on one
core, streaming (sessions are generated and dropped one at a time: memory stays flat).

    .venv/bin/python bench/pricing.py [--sessions N] [--seed S]

Prints sessions/s of the engine (period building + pricing + totals), of a baseline that only
multiplies kWh by a flat price (and rounds), their ratio, and the peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clearing.tariffs import CompiledTariff, build_usage, compile_tariff, parse_tariff, price

TARGET = 20_000


def _tariff(tid: str, elements: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"country_code": "LV", "party_id": "BIM", "id": tid, "currency": "EUR",
            "elements": elements, **extra}


def _pc(kind: str, price_: str, step: int = 1, vat: str = "21") -> dict[str, Any]:
    return {"type": kind, "price": price_, "step_size": step, "vat": vat}


TARIFFS = [
    _tariff("kwh", [{"price_components": [_pc("ENERGY", "0.30")]}]),
    _tariff("kwh+start", [{"price_components": [_pc("FLAT", "1.00"), _pc("ENERGY", "0.35")]}]),
    _tariff("kwh+parking", [{"price_components": [
        _pc("FLAT", "0.50"), _pc("ENERGY", "0.25"), _pc("PARKING_TIME", "2.00", 900)]}]),
    _tariff("peak/offpeak", [
        {"price_components": [_pc("ENERGY", "0.18", 100)],
         "restrictions": {"start_time": "22:00", "end_time": "07:00"}},
        {"price_components": [_pc("ENERGY", "0.29", 100)],
         "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]}},
        {"price_components": [_pc("ENERGY", "0.39", 100)]}]),
    _tariff("time+blocking", [
        {"price_components": [_pc("TIME", "2.40", 60)]},
        {"price_components": [_pc("PARKING_TIME", "6.00", 300)],
         "restrictions": {"start_time": "08:00", "end_time": "20:00"}}],
        max_price={"excl_vat": "25.00", "incl_vat": "30.25"}),
    _tariff("free-30-min", [
        {"price_components": [_pc("ENERGY", "0.00")], "restrictions": {"max_duration": 1800}},
        {"price_components": [_pc("ENERGY", "0.25")], "restrictions": {"max_kwh": 40}},
        {"price_components": [_pc("ENERGY", "0.40")]}],
        min_price={"excl_vat": "0.50", "incl_vat": "0.61"}),
]
WEIGHTS = [30, 20, 15, 15, 10, 10]


def sessions(n: int, seed: int) -> Iterator[tuple[int, datetime, datetime, Decimal, datetime]]:
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    picks = rng.choices(range(len(TARIFFS)), WEIGHTS, k=min(n, 10_000))
    for i in range(n):
        start = base + timedelta(seconds=rng.randrange(365 * 86_400))
        charge = rng.randrange(60, 6 * 3600)
        park = rng.choice((0, 0, rng.randrange(0, 3 * 3600)))
        kwh = Decimal(rng.randrange(0, 80_000)).scaleb(-3)
        stop = start + timedelta(seconds=charge)
        yield picks[i % len(picks)], start, stop + timedelta(seconds=park), kwh, stop


def run_engine(compiled: list[CompiledTariff], n: int, seed: int) -> tuple[float, Decimal]:
    total = Decimal(0)
    began = time.perf_counter()
    for t, start, end, kwh, stop in sessions(n, seed):
        ct = compiled[t]
        total += price(ct, build_usage(ct, start, end, kwh, stop)).total.excl_vat
    return time.perf_counter() - began, total


def run_baseline(n: int, seed: int) -> tuple[float, Decimal]:
    flat, cent, total = Decimal("0.30"), Decimal("0.01"), Decimal(0)
    began = time.perf_counter()
    for _t, _start, _end, kwh, _stop in sessions(n, seed):
        total += (kwh * flat).quantize(cent, ROUND_HALF_UP)
    return time.perf_counter() - began, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    compiled = [compile_tariff(parse_tariff(t), "Europe/Riga") for t in TARIFFS]
    base_s, _base_total = run_baseline(args.sessions, args.seed)
    eng_s, eng_total = run_engine(compiled, args.sessions, args.seed)
    n = args.sessions
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sessions:        {n}")
    print(f"engine:          {n / eng_s:,.0f} sessions/s ({eng_s:.1f} s), "
          f"sum excl. VAT {eng_total}")
    print(f"baseline:        {n / base_s:,.0f} sessions/s ({base_s:.1f} s; kWh x flat price, "
          "same session generator)")
    print(f"ratio:           engine is {eng_s / base_s:.1f}x the baseline's time")
    print(f"peak RSS:        {rss_mb:.0f} MiB")
    verdict = "meets" if n / eng_s >= TARGET else "misses"
    print(f"target:          {TARGET:,} sessions/s: {verdict} "
          f"({n / eng_s / TARGET:.0%} of target)")


if __name__ == "__main__":
    main()
