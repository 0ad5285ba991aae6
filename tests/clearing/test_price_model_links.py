"""Contract-level pricing of our own sessions: a price model attached to a location, a
station, a token group or a token contract prices a real OCPP session (most specific wins);
without a link the location's OCPI tariff prices it as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from clearing.admin import explain_cdr
from clearing.admin_models import attach
from clearing.models import Hotel, StartHourlyKwh, Subscription
from cpo_core.simulator import SimulatedStation
from hub.context import HubContext
from hub.db.base import transaction
from hub.db.models import CdrRow
from hub.domain import InvalidInput, NotFound, TokenInfo
from hub.services import price_links, tokens
from hub.services import tariffs as store
from tests.cpo_core.factories import OWN_EMSP, PASSWORD, seed_station

D = Decimal
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # 10:00 in Riga, LV VAT 21 %


@pytest.fixture
def ocpp_url(hub_ctx: HubContext) -> str:
    return f"ws://127.0.0.1:{hub_ctx.settings.ocpp.port}/ocpp"


async def seed(ctx: HubContext) -> None:
    await seed_station(ctx, "RIGA-001")  # LOC-RIGA-1, tariff 0.50 + 0.30/kWh
    async with transaction(ctx.sessionmaker) as session:
        for uid, group in (("TAG-VIP-1", "VIP"), ("TAG-VIP-2", "VIP"), ("TAG-PLAIN", None)):
            await tokens.upsert_token(session, TokenInfo(
                owner=OWN_EMSP, uid=uid, type="RFID", contract_id=f"LV-BIE-{uid}",
                issuer="test", group_id=group), ctx.clock())


async def put_model(ctx: HubContext, model_id: str, model: object) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await store.save_price_model(session, model_id, model.kind,  # type: ignore[attr-defined]
                                     model.to_json(), ctx.clock())  # type: ignore[attr-defined]


async def charge(ctx: HubContext, url: str, tag: str, *, start: datetime = T0,
                 samples: tuple[tuple[int, int], ...] = ((45, 6000),), end_minutes: int = 90,
                 meter_stop: int = 12000) -> CdrRow:
    async with SimulatedStation(url, "RIGA-001", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        tx, status = await st.start_transaction(1, tag, 0, start)
        assert status == "Accepted"
        for minutes, wh in samples:
            await st.meter_values(1, tx, wh, start + timedelta(minutes=minutes))
        await st.stop_transaction(tx, meter_stop, tag, start + timedelta(minutes=end_minutes))
    async with ctx.sessionmaker() as session:
        return (await session.scalars(select(CdrRow).where(CdrRow.session_pk == tx))).one()


async def test_attached_start_hourly_kwh_model_prices_the_session(
        hub_ctx: HubContext, ocpp_url: str) -> None:
    await seed(hub_ctx)
    await put_model(hub_ctx, "SE-OWNER", StartHourlyKwh("EUR", D("1.00"), D("2.00"), D("0.25")))
    assert await attach(hub_ctx, "SE-OWNER", {"scope": "location", "target": "LOC-RIGA-1"}) \
        == {"model_id": "SE-OWNER", "scope": "LOCATION", "target": "LOC-RIGA-1"}
    cdr = await charge(hub_ctx, ocpp_url, "TAG-PLAIN")
    # 1.00 start + 1.5 h x 2.00 + 12 kWh x 0.25 = 7.00; the model states no VAT: LV 21 %.
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat) == (D("7.00"), D("8.47"))
    assert cdr.vat_rate == D(21) and cdr.total_energy == D(12)
    assert cdr.tariffs == [] and cdr.raw == {"price_model": "SE-OWNER"}
    assert [(b["component"], D(b["amount_excl_vat"])) for b in cdr.breakdown] == [
        ("FLAT", D(1)), ("TIME", D(3)), ("ENERGY", D(3))]
    assert cdr.breakdown[0]["note"] == "price model SE-OWNER (location LOC-RIGA-1): start fee"
    async with transaction(hub_ctx.sessionmaker) as session:
        out = await explain_cdr(session, hub_ctx, cdr)
    assert out["price_model"] == "SE-OWNER"
    assert "priced by price model SE-OWNER" in out["text"] and "start fee" in out["text"]


async def test_hotel_model_blocks_from_the_last_energy_increase(
        hub_ctx: HubContext, ocpp_url: str) -> None:
    await seed(hub_ctx)
    await put_model(hub_ctx, "HOTEL", Hotel("EUR", D("0.30"), D("0.10"), vat=D(21)))
    await attach(hub_ctx, "HOTEL", {"scope": "STATION", "target": "RIGA-001"})
    # Full after 30 min (10 kWh), unplugged after 120: 90 min blocking.
    cdr = await charge(hub_ctx, ocpp_url, "TAG-PLAIN", samples=((15, 5000), (30, 10000),
                                                                 (60, 10000)),
                       end_minutes=120, meter_stop=10000)
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat) == (D("12.00"), D("14.52"))
    assert [b["component"] for b in cdr.breakdown] == ["ENERGY", "PARKING_TIME"]
    assert D(cdr.breakdown[1]["volume"]) == D(90)


async def test_most_specific_link_wins(hub_ctx: HubContext, ocpp_url: str) -> None:
    await seed(hub_ctx)
    for model_id, kwh_price in (("LOC", "0.10"), ("STA", "0.20"), ("GRP", "0.30"),
                                ("CON", "0.40")):
        await put_model(hub_ctx, model_id, StartHourlyKwh("EUR", D(0), D(0), D(kwh_price),
                                                          vat=D(0)))
    for model_id, scope, target in (("LOC", "LOCATION", "LOC-RIGA-1"),
                                    ("STA", "STATION", "RIGA-001"), ("GRP", "GROUP", "VIP"),
                                    ("CON", "CONTRACT", "LV-BIE-TAG-VIP-1")):
        await attach(hub_ctx, model_id, {"scope": scope, "target": target})
    prices = {}
    for day, tag in enumerate(("TAG-VIP-1", "TAG-VIP-2", "TAG-PLAIN")):
        cdr = await charge(hub_ctx, ocpp_url, tag, start=T0 + timedelta(days=day))
        prices[tag] = ((cdr.raw or {}).get("price_model"), cdr.total_cost_excl_vat)
    assert prices == {"TAG-VIP-1": ("CON", D("4.80")), "TAG-VIP-2": ("GRP", D("3.60")),
                      "TAG-PLAIN": ("STA", D("2.40"))}
    async with transaction(hub_ctx.sessionmaker) as session:
        await price_links.detach(session, "station", "RIGA-001")
        links = await price_links.list_links(session)
    assert [ln["model_id"] for ln in links] == ["LOC", "GRP", "CON"]
    cdr = await charge(hub_ctx, ocpp_url, "TAG-PLAIN", start=T0 + timedelta(days=5))
    assert (cdr.raw or {}).get("price_model") == "LOC" and cdr.total_cost_excl_vat == D("1.20")
    async with transaction(hub_ctx.sessionmaker) as session:  # deleting drops its links
        await store.delete_price_model(session, "LOC")
    cdr = await charge(hub_ctx, ocpp_url, "TAG-PLAIN", start=T0 + timedelta(days=6))
    # No link any more: the location's OCPI tariff, as before (0.50 + 12 x 0.30).
    assert cdr.raw is None and cdr.total_cost_excl_vat == D("4.10")
    assert cdr.tariffs[0]["id"] == "AC-STANDARD"


async def test_attach_refuses_period_models_and_unknown_targets(hub_ctx: HubContext) -> None:
    await seed(hub_ctx)
    await put_model(hub_ctx, "SUB", Subscription("EUR", D(20), D(100), D("0.25")))
    with pytest.raises(InvalidInput, match="prices a period"):
        await attach(hub_ctx, "SUB", {"scope": "LOCATION", "target": "LOC-RIGA-1"})
    await put_model(hub_ctx, "M", StartHourlyKwh("EUR", D(0), D(0), D(1)))
    with pytest.raises(NotFound, match="unknown location NOWHERE"):
        await attach(hub_ctx, "M", {"scope": "LOCATION", "target": "NOWHERE"})
    with pytest.raises(NotFound, match="unknown station"):
        await attach(hub_ctx, "M", {"scope": "STATION", "target": "NOPE"})
    with pytest.raises(InvalidInput, match="scope: must be one of"):
        await attach(hub_ctx, "M", {"scope": "COUNTRY", "target": "LV"})
    with pytest.raises(NotFound, match="unknown price model X"):
        await attach(hub_ctx, "X", {"scope": "GROUP", "target": "VIP"})
