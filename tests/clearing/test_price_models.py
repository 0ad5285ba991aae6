"""Contract-level price models (clearing.models): pure pricing, validation naming the field,
the closest OCPI tariff (valid, alt text where OCPI can't say it), and the admin API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.models import (
    AnnualBlocks,
    Hotel,
    OwnerFixed,
    PriceGroups,
    SessionInput,
    StartHourlyKwh,
    Subscription,
    parse_model,
)
from clearing.tariffs import compile_tariff, parse_tariff, parse_usage, price
from hub.domain import InvalidInput
from hub.settings import Settings
from tests.clearing.admin_helpers import loads, seed_with_partner

D = Decimal
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # 10:00 in Riga


def s(minutes: int, kwh: str, full_after: int | None = None, **kw: object) -> SessionInput:
    full = None if full_after is None else T0 + timedelta(minutes=full_after)
    return SessionInput(T0, T0 + timedelta(minutes=minutes), D(kwh), full, **kw)  # type: ignore[arg-type]


def test_start_hourly_kwh_matches_the_ocpi_engine() -> None:
    m = StartHourlyKwh("SEK", start_fee=D(5), hourly_fee=D(10), kwh_price=D("2.50"), vat=D(25))
    p = m.price(s(90, "12"))
    assert p.total_excl_vat == D("50.00")  # 5 + 1.5 h x 10 + 12 x 2.50
    assert p.total_incl_vat == D("62.50")
    tariff = parse_tariff(m.to_ocpi_tariff("SE", "ABC", "SHK"))
    cdr = {"start_date_time": "2026-11-10T08:00:00Z", "end_date_time": "2026-11-10T09:30:00Z",
           "charging_periods": [{"start_date_time": "2026-11-10T08:00:00Z", "dimensions": [
               {"type": "ENERGY", "volume": 12}, {"type": "TIME", "volume": 1.5}]}]}
    assert price(compile_tariff(tariff, "Europe/Stockholm"), parse_usage(cdr)).total.excl_vat \
        == p.total_excl_vat


def test_hotel_blocks_after_full_only_inside_the_window() -> None:
    m = Hotel("EUR", kwh_price=D("0.30"), blocking_fee_per_minute=D("0.10"))
    p = m.price(s(120, "20", full_after=60))  # 60 min blocking
    assert [ln.label for ln in p.lines] == ["energy", "blocking"]
    assert p.total_excl_vat == D("12.00")  # 6.00 + 60 x 0.10
    # Window 08:00-11:30 Riga: blocking 11:00-12:00 local, only 30 min inside.
    windowed = Hotel("EUR", D("0.30"), D("0.10"), window_start_time="08:00",
                     window_end_time="11:30")
    assert windowed.price(s(120, "20", full_after=60), "Europe/Riga").total_excl_vat == D("9.00")
    # Overnight window 22:00-07:00 wraps midnight: blocking 11:00 .. 09:00 next day local.
    night = Hotel("EUR", D(0), D("0.01"), window_start_time="22:00", window_end_time="07:00")
    assert night.price(s(23 * 60, "0", full_after=60), "Europe/Riga").lines[0].volume \
        == D(9 * 60)
    grace = Hotel("EUR", D("0.30"), D("0.10"), grace_minutes=15)
    assert grace.price(s(120, "20", full_after=60)).total_excl_vat == D("10.50")
    tariff = grace.to_ocpi_tariff("LV", "BIM", "HOTEL")
    assert parse_tariff(tariff).elements[1].components[0].price == D(6)  # per hour
    assert "15 minutes" in tariff["tariff_alt_text"][0]["text"]
    with pytest.raises(InvalidInput, match="window_end_time"):
        parse_model({"kind": "hotel", "currency": "EUR", "kwh_price": 1,
                     "blocking_fee_per_minute": 1, "window_start_time": "08:00"})
    with pytest.raises(InvalidInput, match="window_start_time"):
        parse_model({"kind": "hotel", "currency": "EUR", "kwh_price": 1,
                     "blocking_fee_per_minute": 1, "window_start_time": "8h",
                     "window_end_time": "09:00"})


def test_owner_price_and_price_groups() -> None:
    owner = OwnerFixed("EUR", public_kwh_price=D("0.40"), private_kwh_price=D("0.10"))
    assert owner.price(s(60, "10")).total_excl_vat == D("4.00")
    assert owner.price(s(60, "10", private=True)).total_excl_vat == D("1.00")
    groups = parse_model({"kind": "price_groups", "currency": "EUR", "start_fee": "1",
                          "kwh_prices": {"standard": "0.35", "VIP": "0.20"}})
    assert isinstance(groups, PriceGroups)
    assert groups.price(s(60, "10", token_group="VIP")).total_excl_vat == D("3.00")
    assert groups.price(s(60, "10", token_group="other")).total_excl_vat == D("4.50")
    alt = groups.to_ocpi_tariff("LV", "BIM", "G")["tariff_alt_text"][0]["text"]
    assert "VIP 0.20 EUR/kWh" in alt
    with pytest.raises(InvalidInput, match="default_group"):
        parse_model({"kind": "price_groups", "currency": "EUR", "kwh_prices": {"VIP": 1}})
    with pytest.raises(InvalidInput, match=r"kwh_prices\.VIP"):
        parse_model({"kind": "price_groups", "currency": "EUR",
                     "kwh_prices": {"standard": 1, "VIP": -1}})


def test_subscription_per_user_and_per_charge_point() -> None:
    sub = Subscription("EUR", monthly_fee=D(20), included_kwh=D(100), extra_kwh_price=D("0.25"))
    p = sub.price_month([D(60), D(70)])
    assert p.total_excl_vat == D("27.50")  # 20 + 30 kWh beyond x 0.25
    two = Subscription("EUR", D(20), D(100), D("0.25"), per="CHARGE_POINT")
    assert two.price_month([D(60), D(70)], units=2).total_excl_vat == D("40.00")
    with pytest.raises(InvalidInput, match="per:"):
        parse_model({"kind": "subscription", "currency": "EUR", "monthly_fee": 1,
                     "included_kwh": 1, "extra_kwh_price": 1, "per": "HOUSE"})
    assert parse_tariff(sub.to_ocpi_tariff("LV", "BIM", "SUB")).elements[0].components[0] \
        .price == D("0.25")


def test_annual_blocks_split_the_month_that_crosses_the_block() -> None:
    m = AnnualBlocks("EUR", block_kwh=D(1000), block_price=D("0.10"), rest_price=D("0.20"),
                     year_start="07-01", eligible_extra_kwh=D(500))
    p = m.price_month(D(300), kwh_before=D(800))
    assert [(ln.volume, ln.unit_price) for ln in p.lines] == [(D(200), D("0.10")),
                                                             (D(100), D("0.20"))]
    assert m.price_month(D(300), D(800), eligible=True).total_excl_vat == D("30.00")
    assert m.year_of(datetime(2027, 3, 1).date()) == datetime(2026, 7, 1).date()
    with pytest.raises(InvalidInput, match="year_start"):
        parse_model({**m.to_json(), "year_start": "13-01"})


@given(before=st.integers(0, 3000), a=st.integers(0, 2000), b=st.integers(0, 2000))
def test_annual_blocks_splitting_a_month_changes_nothing(before: int, a: int, b: int) -> None:
    m = AnnualBlocks("EUR", D(1000), D("0.1"), D("0.2"))
    whole = sum((ln.amount for ln in m.price_month(D(a + b), D(before)).lines), D(0))
    first = sum((ln.amount for ln in m.price_month(D(a), D(before)).lines), D(0))
    second = sum((ln.amount for ln in m.price_month(D(b), D(before + a)).lines), D(0))
    assert whole == first + second


def test_models_round_trip_through_json() -> None:
    for model in (StartHourlyKwh("EUR", D(1), D(2), D(3)), Hotel("EUR", D(1), D("0.1"), 5),
                  OwnerFixed("EUR", D(1), D(2)), AnnualBlocks("EUR", D(1), D(2), D(3)),
                  Subscription("EUR", D(1), D(2), D(3))):
        assert parse_model(model.to_json()) == model
    with pytest.raises(InvalidInput, match="kind"):
        parse_model({"kind": "nope"})
    with pytest.raises(InvalidInput, match="currency"):
        parse_model({"kind": "owner_fixed", "currency": "EURO", "public_kwh_price": 1,
                     "private_kwh_price": 1})
    with pytest.raises(InvalidInput, match="kwh_price: is required"):
        parse_model({"kind": "start_hourly_kwh", "currency": "EUR", "start_fee": 1,
                     "hourly_fee": 1})


async def test_price_models_through_the_admin_api(settings: Settings, start_hub) -> None:
    hub = await start_hub(settings)
    await seed_with_partner(hub.ctx)
    hotel = {"kind": "hotel", "currency": "EUR", "kwh_price": "0.30",
             "blocking_fee_per_minute": "0.10", "vat": 21}
    async with httpx.AsyncClient(base_url=f"{hub.url}/admin") as c:
        r = await c.put("/price-models/HOTEL-1", json=hotel)
        assert r.status_code == 201, r.text
        r = await c.put("/price-models/HOTEL-1", json={**hotel, "kwh_price": -1})
        assert r.status_code == 422 and r.json()["detail"].startswith("kwh_price:")
        assert [m["id"] for m in (await c.get("/price-models")).json()] == ["HOTEL-1"]
        session = {"start_date_time": "2026-11-10T08:00:00Z",
                   "end_date_time": "2026-11-10T10:00:00Z",
                   "charging_end_date_time": "2026-11-10T09:00:00Z", "kwh": 20}
        out = loads((await c.post("/price-models/HOTEL-1/price",
                                  json={"session": session})).text)
        assert out["total_cost"] == {"excl_vat": D("12.00"), "incl_vat": D("14.52")}
        tariff = loads((await c.get("/price-models/HOTEL-1/ocpi-tariff")).text)
        assert (tariff["country_code"], tariff["id"]) == ("LV", "HOTEL-1")
        assert tariff["elements"][1]["price_components"][0]["type"] == "PARKING_TIME"
        sub = {"kind": "subscription", "currency": "EUR", "monthly_fee": 20,
               "included_kwh": 100, "extra_kwh_price": "0.25"}
        assert (await c.put("/price-models/SUB", json=sub)).status_code == 201
        out = loads((await c.post("/price-models/SUB/price",
                                  json={"session_kwh": [60, 70]})).text)
        assert out["total_cost"]["excl_vat"] == D("27.50")
        assert (await c.delete("/price-models/SUB")).status_code == 204
        assert (await c.get("/price-models/SUB")).status_code == 404
