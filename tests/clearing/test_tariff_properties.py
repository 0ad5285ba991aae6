"""Invariants of the tariff engine (hypothesis): totals equal the sum of lines, more energy
never costs less under a non-negative tariff, splitting a period where no price changes
changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_UP
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.tariffs import Period, Usage, build_usage, compile_tariff, parse_tariff, price
from clearing.tariffs.restrictions import CHARGING, Moment, matches
from tests.clearing.tariff_helpers import D, at

prices = st.decimals(min_value=0, max_value=3, places=3)
steps = st.sampled_from([0, 1, 60, 300, 900, 100, 500])
times = st.sampled_from(["00:00", "06:30", "08:00", "17:00", "20:00", "23:30"])
START = at(2026, 3, 28, 20, 0)  # the night Europe/Riga springs forward (DST)


@st.composite
def restriction(draw: st.DrawFn) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["start_time"], out["end_time"] = draw(times), draw(times)
    if draw(st.booleans()):
        out["day_of_week"] = draw(st.lists(st.sampled_from(
            ["MONDAY", "SATURDAY", "SUNDAY"]), min_size=1, unique=True))
    if draw(st.booleans()):
        out["max_duration"] = draw(st.sampled_from([600, 3600, 7200]))
    if draw(st.booleans()):
        out["min_kwh"] = draw(st.sampled_from([1, 5, 20]))
    return out or None


@st.composite
def tariffs(draw: st.DrawFn) -> dict[str, Any]:
    elements = []
    for _ in range(draw(st.integers(1, 4))):
        kinds = draw(st.lists(st.sampled_from(["ENERGY", "FLAT", "TIME", "PARKING_TIME"]),
                              min_size=1, max_size=4, unique=True))
        elements.append({
            "price_components": [{"type": k, "price": str(draw(prices)),
                                  "step_size": draw(steps),
                                  "vat": str(draw(st.sampled_from([0, 10, 21, 25.5])))}
                                 for k in kinds],
            **({"restrictions": r} if (r := draw(restriction())) else {}),
        })
    body: dict[str, Any] = {"country_code": "LV", "party_id": "BIM", "id": "P",
                            "currency": "EUR", "elements": elements}
    if draw(st.booleans()):
        body["max_price"] = {"excl_vat": "40", "incl_vat": "48"}
    return body


sessions = st.tuples(st.integers(1, 8 * 3600), st.integers(0, 3 * 3600),
                     st.decimals(min_value=0, max_value=80, places=3))


@settings(max_examples=60, deadline=None)
@given(tariffs(), sessions)
def test_totals_equal_the_sum_of_lines(body: dict[str, Any], s: tuple[int, int, D]) -> None:
    ct = compile_tariff(parse_tariff(body), "Europe/Riga")
    charge, park, kwh = s
    end = START + timedelta(seconds=charge + park)
    p = price(ct, build_usage(ct, START, end, kwh, START + timedelta(seconds=charge)))
    assert p.total.excl_vat == p.lines_excl.quantize(D("0.01"), ROUND_HALF_UP)
    assert p.total.incl_vat - p.total.excl_vat == p.vat_amount
    assert sum((q.energy for q in p.usage.periods), D(0)) == kwh
    for ln in p.lines:
        assert ln.amount == ln.volume * ln.unit_price


@settings(max_examples=60, deadline=None)
@given(tariffs(), sessions, st.decimals(min_value=0, max_value=40, places=3))
def test_more_energy_never_costs_less(body: dict[str, Any], s: tuple[int, int, D],
                                      more: D) -> None:
    # Power restrictions are not drawn, and kWh restrictions are removed here: with them, more
    # energy can move a session to a cheaper element (by design of such tariffs, e.g. "free
    # parking time above 1 kWh"), so the invariant does not hold for them.
    for element in body["elements"]:
        restrictions = element.pop("restrictions", None) or {}
        kept = {k: v for k, v in restrictions.items() if k not in ("min_kwh", "max_kwh")}
        if kept:
            element["restrictions"] = kept
    # step_size rounds the session's total energy up and bills the extra at the last ENERGY
    # component's price (mod_tariffs PriceComponent step_size; docs/tariffs.md). When some of
    # the energy was priced lower (e.g. free for the first 10 minutes), more energy can shrink
    # that extra by more than it adds: the spec's semantics, not a bug. So energy step sizes
    # are only kept when every ENERGY component has the same price.
    energy = [pc for e in body["elements"] for pc in e["price_components"]
              if pc["type"] == "ENERGY"]
    if len({D(pc["price"]) for pc in energy}) > 1:
        for pc in energy:
            pc["step_size"] = 0
    ct = compile_tariff(parse_tariff(body), "Europe/Riga")
    charge, park, kwh = s
    end = START + timedelta(seconds=charge + park)
    stop = START + timedelta(seconds=charge)
    low = price(ct, build_usage(ct, START, end, kwh, stop))
    high = price(ct, build_usage(ct, START, end, kwh + more, stop))
    assert high.total.excl_vat >= low.total.excl_vat
    assert high.total.incl_vat >= low.total.incl_vat


@settings(max_examples=60, deadline=None)
@given(tariffs(), sessions, st.floats(min_value=0.01, max_value=0.99))
def test_splitting_where_no_price_changes_changes_nothing(
        body: dict[str, Any], s: tuple[int, int, D], where: float) -> None:
    ct = compile_tariff(parse_tariff(body), "Europe/Riga")
    charge, park, kwh = s
    end = START + timedelta(seconds=charge + park)
    usage = build_usage(ct, START, end, kwh, START + timedelta(seconds=charge))
    before = price(ct, usage)
    # split the longest period at a fraction of it, with exact volume shares
    i = max(range(len(usage.periods)), key=lambda k: _length(usage, k))
    period = usage.periods[i]
    cut = period.start + _length(usage, i) * where
    if cut <= period.start or _active(ct, usage, i, period.start) != _active(ct, usage, i, cut):
        return
    share = D(str(round(where, 6)))
    first = replace(period, energy=(period.energy * share).quantize(D("0.000001")),
                    time=(period.time * share).quantize(D("0.000001")),
                    parking=(period.parking * share).quantize(D("0.000001")))
    second = replace(period, start=cut, energy=period.energy - first.energy,
                     time=period.time - first.time, parking=period.parking - first.parking)
    split = replace(usage, periods=(*usage.periods[:i], first, second, *usage.periods[i + 1:]))
    after = price(ct, split)
    assert (after.total, after.costs) == (before.total, before.costs)


def _length(usage: Usage, i: int) -> timedelta:
    end = usage.periods[i + 1].start if i + 1 < len(usage.periods) else usage.end
    return end - usage.periods[i].start


def _active(ct: Any, usage: Usage, i: int, moment: Any) -> tuple[object, ...]:
    """Which element prices each dimension at ``moment`` (kWh before the period: same)."""
    local = moment.astimezone(ct.zone)
    kwh = sum((p.energy for p in usage.periods[:i]), D(0))
    m = Moment(CHARGING, local.hour * 60 + local.minute, local.date(), local.weekday(), kwh,
               D((moment - usage.start).total_seconds()), usage.periods[i])
    out = []
    for dim in ("ENERGY", "TIME", "PARKING_TIME"):
        hit = next((c[2] for c in ct.charging.get(dim, ())
                    if c[0] is None or matches(c[0], m, [])), None)
        out.append(hit)
    return tuple(out)


def test_dst_day_durations_come_from_utc() -> None:
    # Riga springs forward 2026-03-29 03:00 -> 04:00: 00:00 to 06:00 local is 5 hours.
    body = {"country_code": "LV", "party_id": "BIM", "id": "T", "currency": "EUR",
            "elements": [{"price_components": [{"type": "TIME", "price": "1.00",
                                                "step_size": 1}]}]}
    ct = compile_tariff(parse_tariff(body), "Europe/Riga")
    start, end = at(2026, 3, 28, 22), at(2026, 3, 29, 3)
    assert price(ct, build_usage(ct, start, end, D(10))).total.excl_vat == D("5.00")


def test_night_window_past_midnight_in_local_time() -> None:
    # 22:00-06:00 at 0.10, else 0.40; a session 21:00-23:00 Riga (summer, UTC+3), 10 kWh.
    body = {"country_code": "LV", "party_id": "BIM", "id": "N", "currency": "EUR",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": "0.10", "step_size": 1}],
                 "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
                {"price_components": [{"type": "ENERGY", "price": "0.40", "step_size": 1}]}]}
    ct = compile_tariff(parse_tariff(body), "Europe/Riga")
    usage = build_usage(ct, at(2026, 7, 1, 18), at(2026, 7, 1, 20), D(10))
    assert [p.start for p in usage.periods] == [at(2026, 7, 1, 18), at(2026, 7, 1, 19)]
    assert price(ct, usage).total.excl_vat == D("2.50")  # 5 x 0.40 + 5 x 0.10


def test_periods_split_where_energy_reaches_min_kwh() -> None:
    body = {"country_code": "LV", "party_id": "BIM", "id": "K", "currency": "EUR",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": "0.50", "step_size": 1}],
                 "restrictions": {"min_kwh": 20}},
                {"price_components": [{"type": "ENERGY", "price": "0.20", "step_size": 1}]}]}
    ct = compile_tariff(parse_tariff(body), "UTC")
    usage = build_usage(ct, at(2026, 7, 1, 10), at(2026, 7, 1, 11), D(30))
    assert [p.energy for p in usage.periods] == [D(20), D(10)]
    assert price(ct, usage).total.excl_vat == D("9.00")


def test_usage_periods_cover_the_session() -> None:
    body = {"country_code": "LV", "party_id": "BIM", "id": "K", "currency": "EUR",
            "elements": [{"price_components": [{"type": "TIME", "price": "1", "step_size": 1}],
                          "restrictions": {"start_time": "10:00", "end_time": "11:00"}}]}
    ct = compile_tariff(parse_tariff(body), "UTC")
    usage = build_usage(ct, at(2026, 7, 1, 9), at(2026, 7, 2, 12), D(5))
    assert sum((p.time for p in usage.periods), D(0)) == D(27)
    assert Period(at(2026, 7, 1, 9)).start == usage.periods[0].start
    assert price(ct, usage).total.excl_vat == D("2.00")  # two 10:00-11:00 windows
