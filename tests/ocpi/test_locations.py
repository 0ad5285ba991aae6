from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub.db.base import transaction
from hub.services.network import add_station, create_location, upsert_simple_tariff
from tests.ocpi.conftest import fake_partner, new_token_a, ocpi_call

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def seed_locations(hub, n: int) -> None:
    async with transaction(hub.ctx.sessionmaker) as session:
        tariff = await upsert_simple_tariff(session, "T1", currency="EUR",
                                            energy_price=Decimal("0.30"),
                                            start_fee=Decimal("1.00"), now=T0)
        for i in range(n):
            now = T0 + timedelta(hours=i)
            await create_location(
                session, f"LOC{i}", name=f"Place {i}", address=f"Brivibas {i}", city="Riga",
                postal_code="LV-1010", country="LVA", latitude="56.950000",
                longitude="24.100000", time_zone="Europe/Riga", tariff=tariff, now=now)
            await add_station(session, f"CS{i}", password=None, location_id=f"LOC{i}",
                              connectors=2, now=now)


async def test_locations_are_paginated_with_link_and_counts(lv_hub) -> None:
    await seed_locations(lv_hub, 3)
    _, token = await fake_partner(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/locations"
    r = await ocpi_call("GET", base, token, params={"limit": 2})
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "3" and r.headers["X-Limit"] == "2"
    assert r.headers["Link"] == f'<{base}?offset=2&limit=2>; rel="next"'
    page1 = r.json()["data"]
    assert [loc["id"] for loc in page1] == ["LOC0", "LOC1"]
    loc = page1[0]
    assert (loc["country_code"], loc["party_id"]) == ("LV", "BIM")
    assert loc["coordinates"] == {"latitude": "56.950000", "longitude": "24.100000"}
    assert loc["last_updated"] == "2026-03-01T12:00:00Z"
    assert [e["uid"] for e in loc["evses"]] == ["CS0-1", "CS0-2"]
    assert loc["evses"][0]["connectors"][0]["tariff_ids"] == ["T1"]

    r = await ocpi_call("GET", base, token, params={"offset": 2, "limit": 2})
    assert [loc["id"] for loc in r.json()["data"]] == ["LOC2"]
    assert "Link" not in r.headers


async def test_location_date_filters_and_link_keeps_them(lv_hub) -> None:
    await seed_locations(lv_hub, 4)
    _, token = await fake_partner(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/locations"
    params = {"date_from": "2026-03-01T13:00:00Z", "date_to": "2026-03-01T15:00:00",
              "limit": "1"}
    r = await ocpi_call("GET", base, token, params=params)
    # date_from inclusive, date_to exclusive (transport_and_format, Paginated Request).
    assert r.headers["X-Total-Count"] == "2"
    assert [loc["id"] for loc in r.json()["data"]] == ["LOC1"]
    link = r.headers["Link"]
    assert "date_from=2026-03-01T13%3A00%3A00Z" in link
    assert "date_to=2026-03-01T15%3A00%3A00Z" in link and "offset=1" in link
    r = await ocpi_call("GET", base, token, params={"limit": 5000})
    assert r.headers["X-Limit"] == "1000"  # our max_page_limit
    r = await ocpi_call("GET", base, token, params={"limit": "many"})
    assert r.status_code == 400 and r.json()["status_code"] == 2001


async def test_single_location_evse_connector(lv_hub) -> None:
    await seed_locations(lv_hub, 1)
    _, token = await fake_partner(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/locations"
    r = await ocpi_call("GET", f"{base}/LOC0", token)
    assert r.json()["data"]["id"] == "LOC0"
    r = await ocpi_call("GET", f"{base}/LOC0/CS0-2", token)
    assert r.json()["data"]["evse_id"] == "LV*BIM*ECS02"
    r = await ocpi_call("GET", f"{base}/LOC0/CS0-2/1", token)
    data = r.json()["data"]
    assert data["id"] == "1" and data["max_voltage"] == 230
    r = await ocpi_call("GET", f"{base}/NOPE", token)
    assert r.status_code == 404 and r.json()["status_code"] == 2003
    r = await ocpi_call("GET", f"{base}/LOC0/CS0-9/1", token)
    assert r.status_code == 404
    # Token A may not read locations (transport_and_format, Authorization header).
    r = await ocpi_call("GET", f"{base}/LOC0", await new_token_a(lv_hub))
    assert r.status_code == 401
