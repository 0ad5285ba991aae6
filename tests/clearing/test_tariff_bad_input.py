"""Bad input is rejected with a message naming the field, or priced with a flagged warning
where the spec allows it: never a crash, never a silent zero."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clearing.tariffs import (
    Period,
    TariffError,
    Usage,
    build_usage,
    check_validity_overlap,
    compile_tariff,
    parse_tariff,
    parse_usage,
    price,
)
from hub.domain import InvalidInput
from tests.clearing.tariff_helpers import D, at

GOOD: dict[str, Any] = {
    "country_code": "LV", "party_id": "BIM", "id": "T1", "currency": "EUR",
    "elements": [{"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}],
                  "restrictions": {"start_time": "08:00", "end_time": "20:00"}}],
}


def bad(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "field"), [
    (["elements"], [], "elements"),
    (["elements"], KeyError, "elements"),
    (["elements", 0, "price_components"], [], "elements[0].price_components"),
    (["elements", 0, "price_components", 0, "price"], "-0.10",
     "elements[0].price_components[0].price"),
    (["elements", 0, "price_components", 0, "price"], "abc",
     "elements[0].price_components[0].price"),
    (["elements", 0, "price_components", 0, "type"], "KWH",
     "elements[0].price_components[0].type"),
    (["elements", 0, "price_components", 0, "step_size"], 1.5,
     "elements[0].price_components[0].step_size"),
    (["elements", 0, "price_components", 0, "vat"], -21,
     "elements[0].price_components[0].vat"),
    (["currency"], "EUD", "currency"),
    (["currency"], "eur", "currency"),
    (["elements", 0, "restrictions", "start_time"], "8:00",
     "elements[0].restrictions.start_time"),
    (["elements", 0, "restrictions", "end_time"], "24:00", "elements[0].restrictions.end_time"),
    (["elements", 0, "restrictions", "start_date"], "2026-02-30",
     "elements[0].restrictions.start_date"),
    (["elements", 0, "restrictions", "day_of_week"], ["MON"],
     "elements[0].restrictions.day_of_week"),
    (["elements", 0, "restrictions", "max_kwh"], "-1", "elements[0].restrictions.max_kwh"),
    (["elements", 0, "restrictions", "reservation"], "YES",
     "elements[0].restrictions.reservation"),
    (["min_price"], {"excl_vat": "1", "incl_vat": "0.5"}, "min_price.incl_vat"),
    (["end_date_time"], "yesterday", "end_date_time"),
])
def test_bad_tariffs_name_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(TariffError) as err:
        parse_tariff(bad(path, value))
    assert err.value.field == field
    assert str(err.value).startswith(field + ": ")
    assert isinstance(err.value, InvalidInput)  # the admin API maps it to 400


def test_min_above_max_restriction() -> None:
    body = bad(["elements", 0, "restrictions"], {"min_kwh": 10, "max_kwh": 5})
    with pytest.raises(TariffError, match="max_kwh"):
        parse_tariff(body)


def test_overlapping_validity_is_rejected() -> None:
    a = parse_tariff({**GOOD, "id": "A", "end_date_time": "2026-07-01T00:00:00Z"})
    b = parse_tariff({**GOOD, "id": "B", "start_date_time": "2026-06-15T00:00:00Z"})
    c = parse_tariff({**GOOD, "id": "C", "start_date_time": "2026-07-01T00:00:00Z"})
    check_validity_overlap([a, c])  # back to back: fine
    with pytest.raises(TariffError, match="overlaps the validity of tariff 'A'") as err:
        check_validity_overlap([a, b])
    assert err.value.field == "tariffs[1].start_date_time"


CDR: dict[str, Any] = {
    "start_date_time": "2026-03-02T10:00:00Z", "end_date_time": "2026-03-02T12:00:00Z",
    "charging_periods": [
        {"start_date_time": "2026-03-02T10:00:00Z",
         "dimensions": [{"type": "ENERGY", "volume": 5}, {"type": "TIME", "volume": 1}]},
        {"start_date_time": "2026-03-02T11:00:00Z",
         "dimensions": [{"type": "ENERGY", "volume": 3}, {"type": "TIME", "volume": 1}]},
    ],
}


@pytest.mark.parametrize(("change", "field", "text"), [
    ({1: {"start_date_time": "2026-03-02T09:30:00Z"}}, "charging_periods[1].start_date_time",
     "outside the session"),
    ({1: {"start_date_time": "2026-03-02T13:00:00Z"}}, "charging_periods[1].start_date_time",
     "outside the session"),
    ({0: {"start_date_time": "2026-03-02T11:30:00Z"}}, "charging_periods[1].start_date_time",
     "out of order"),
    ({1: {"dimensions": [{"type": "ENERGY", "volume": -2}]}},
     "charging_periods[1].dimensions[0].volume", "must not be negative"),
    ({1: {"dimensions": [{"type": "LITRES", "volume": 2}]}},
     "charging_periods[1].dimensions[0].type", "unknown dimension"),
    ({0: {"start_date_time": "10:00"}}, "charging_periods[0].start_date_time",
     "not a valid date-time"),
])
def test_bad_cdr_periods(change: dict[int, dict[str, Any]], field: str, text: str) -> None:
    body = copy.deepcopy(CDR)
    for i, fields in change.items():
        body["charging_periods"][i].update(fields)
    with pytest.raises(TariffError, match=text) as err:
        parse_usage(body)
    assert err.value.field == field


def test_period_without_time_is_priced_with_a_warning() -> None:
    body = copy.deepcopy(CDR)
    body["charging_periods"][1]["dimensions"] = [{"type": "ENERGY", "volume": 3}]
    usage = parse_usage(body)
    assert usage.periods[1].time == D(1)
    assert "charging_periods[1]" in usage.warnings[0]


def test_energy_going_backwards_in_a_session() -> None:
    ct = compile_tariff(parse_tariff(GOOD), "Europe/Riga")
    with pytest.raises(TariffError, match="going backwards") as err:
        build_usage(ct, at(2026, 3, 2, 10), at(2026, 3, 2, 11), D("-0.5"))
    assert err.value.field == "kwh"
    with pytest.raises(TariffError) as err:
        build_usage(ct, at(2026, 3, 2, 10), at(2026, 3, 2, 9), D(1))
    assert err.value.field == "end"


def test_unknown_time_zone() -> None:
    with pytest.raises(TariffError, match="time_zone"):
        compile_tariff(parse_tariff(GOOD), "Mars/Olympus")


def test_energy_outside_every_element_is_shown_not_silently_zero() -> None:
    ct = compile_tariff(parse_tariff(GOOD), "UTC")  # only 08:00-20:00 priced
    usage = build_usage(ct, at(2026, 3, 2, 21), at(2026, 3, 2, 22), D(4))
    p = price(ct, usage)
    assert p.total.excl_vat == D("0.00")
    (line,) = p.lines
    assert (line.kind, line.dimension, line.volume) == ("unpriced", "ENERGY", D(4))
    assert "no element" in line.note


def test_current_restriction_without_current_data_is_flagged() -> None:
    body = bad(["elements", 0, "restrictions"], {"max_current": 32})
    body["elements"].append({"price_components": [{"type": "ENERGY", "price": "0.50"}]})
    ct = compile_tariff(parse_tariff(body), "UTC")
    start = at(2026, 3, 2, 10)
    p = price(ct, Usage(start, at(2026, 3, 2, 11), (Period(start, energy=D(2), time=D(1)),)))
    assert p.total.excl_vat == D("1.00")  # the fallback element
    assert any("current restriction could not be evaluated" in w for w in p.warnings)


def test_missing_vat_is_no_vat_not_zero_silently() -> None:
    ct = compile_tariff(parse_tariff(GOOD), "UTC")
    p = price(ct, build_usage(ct, at(2026, 3, 2, 10), at(2026, 3, 2, 11), D(10)))
    assert (p.total.excl_vat, p.total.incl_vat) == (D("3.00"), D("3.00"))
    assert p.lines[0].vat is None  # shown as "no VAT" in the explanation
