"""Sessions and CDRs Sender interfaces of our CPO: paginated GET lists, each eMSP sees only the
sessions and CDRs of its own tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub.db.base import transaction
from hub.domain import AllowedType, AuthorizationResult, PartyRef, TokenInfo
from hub.services.charging import start_transaction, stop_transaction
from tests.ocpi.conftest import fake_partner, ocpi_call
from tests.ocpi.test_locations import seed_locations

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def charge(hub, station: str, uid: str, owner: PartyRef, start: datetime,
                 stop: bool = True) -> None:
    token = TokenInfo(owner=owner, uid=uid, type="RFID", contract_id=f"C-{uid}", issuer="x")
    auth = AuthorizationResult(AllowedType.ALLOWED, token, source="realtime")
    async with transaction(hub.ctx.sessionmaker) as session:
        row = await start_transaction(session, station_id=station, connector=1, id_tag=uid,
                                      meter_start_wh=Decimal(0), timestamp=start,
                                      authorization=auth, now=start)
        if stop:
            end = start + timedelta(hours=1)
            await stop_transaction(session, station_id=station, transaction_id=row.id,
                                   meter_stop_wh=Decimal(7250), timestamp=end,
                                   reason="Local", pricer=hub.ctx.pricer, now=end)


async def seed(hub) -> tuple[str, str]:
    """Two sessions of EE*ELM drivers (one still active), one of FI*FOR's; their tokens."""
    await seed_locations(hub, 3)
    _, elm = await fake_partner(hub, [("EE", "ELM", "EMSP")])
    _, fortum = await fake_partner(hub, [("FI", "FOR", "EMSP")])
    ee, fi = PartyRef("EE", "ELM", "EMSP"), PartyRef("FI", "FOR", "EMSP")
    await charge(hub, "CS0", "EE0001", ee, T0)
    await charge(hub, "CS1", "FI0001", fi, T0 + timedelta(hours=2))
    await charge(hub, "CS2", "EE0002", ee, T0 + timedelta(hours=4), stop=False)
    return elm, fortum


async def test_sessions_sender_paginates_only_the_callers_sessions(lv_hub) -> None:
    elm, fortum = await seed(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/sessions"
    r = await ocpi_call("GET", base, elm, params={"limit": 1})
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    assert r.headers["X-Total-Count"] == "2" and r.headers["X-Limit"] == "1"
    assert r.headers["Link"] == f'<{base}?offset=1&limit=1>; rel="next"'
    first = r.json()["data"]
    assert len(first) == 1
    s = first[0]
    assert (s["country_code"], s["party_id"]) == ("LV", "BIM")
    assert s["cdr_token"]["uid"] == "EE0001" and s["cdr_token"]["party_id"] == "ELM"
    assert s["status"] == "COMPLETED" and s["kwh"] == 7.25
    r = await ocpi_call("GET", base, elm, params={"offset": 1, "limit": 1})
    assert [x["cdr_token"]["uid"] for x in r.json()["data"]] == ["EE0002"]
    assert r.json()["data"][0]["status"] == "ACTIVE" and "Link" not in r.headers

    r = await ocpi_call("GET", base, fortum)
    assert [x["cdr_token"]["uid"] for x in r.json()["data"]] == ["FI0001"]


async def test_sessions_date_filters(lv_hub) -> None:
    elm, _ = await seed(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/sessions"
    # The first session was last updated at its stop (T0+1h); the active one at T0+4h.
    params = {"date_from": "2026-03-02T09:00:00Z", "date_to": "2026-03-02T12:00:00Z"}
    r = await ocpi_call("GET", base, elm, params=params)
    assert r.headers["X-Total-Count"] == "1"
    assert [x["cdr_token"]["uid"] for x in r.json()["data"]] == ["EE0001"]
    r = await ocpi_call("GET", base, elm, params={"date_from": "2026-03-02T09:00:01Z"})
    assert [x["cdr_token"]["uid"] for x in r.json()["data"]] == ["EE0002"]
    r = await ocpi_call("GET", base, elm, params={"date_to": "yesterday"})
    assert r.status_code == 400 and r.json()["status_code"] == 2001


async def test_cdrs_sender_lists_our_cdrs_for_the_caller(lv_hub) -> None:
    elm, fortum = await seed(lv_hub)
    base = f"{lv_hub.url}/ocpi/cpo/2.2.1/cdrs"
    r = await ocpi_call("GET", base, elm)
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "1" and "Link" not in r.headers
    (cdr,) = r.json()["data"]
    assert cdr["cdr_token"]["uid"] == "EE0001" and cdr["total_energy"] == 7.25
    assert cdr["cdr_location"]["id"] == "LOC0"
    assert cdr["total_cost"]["excl_vat"] > 0
    r = await ocpi_call("GET", base, fortum, params={"limit": 1})
    assert [c["cdr_token"]["uid"] for c in r.json()["data"]] == ["FI0001"]
    r = await ocpi_call("GET", base, "not-a-token")
    assert r.status_code == 401
