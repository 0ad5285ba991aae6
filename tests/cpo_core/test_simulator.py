"""The station simulator drives the real server end to end."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from cpo_core.simulator import SimulatedStation, simulate_stations
from hub.db.models import CdrRow, ChargingSessionRow
from tests.cpo_core.factories import PASSWORD, seed_station, seed_token

TAG = "04A1B2C3D4"


async def test_charge_runs_a_whole_session(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "SIM-1")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation(ocpp_url, "SIM-1", PASSWORD) as st:
        await st.boot()
        first = await st.charge(1, TAG, Decimal("12.345"))
        second = await st.charge(1, TAG, 3)
    async with hub_ctx.sessionmaker() as session:
        a = await session.get(ChargingSessionRow, first)
        b = await session.get(ChargingSessionRow, second)
    assert a is not None and b is not None
    assert (a.status, a.kwh, a.meter_start, a.meter_stop) == (
        "COMPLETED", Decimal("12.345"), Decimal(0), Decimal(12345))
    # The simulated meter register keeps counting across sessions.
    assert (b.kwh, b.meter_start) == (Decimal(3), Decimal(12345))
    assert a.end_date_time is not None and a.end_date_time > a.start_date_time


async def test_simulate_stations_summary(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "SIM-1")
    await seed_station(hub_ctx, "SIM-2")
    await seed_token(hub_ctx, TAG)
    summary = await simulate_stations(ocpp_url, ["SIM-1", "SIM-2", "MISSING"], PASSWORD, TAG,
                                      Decimal("7.5"), 2)
    assert summary["sessions"] == 4 and summary["refused"] == 0 and summary["failed"] == 1
    assert summary["kwh"] == "30.0"
    assert "404" in summary["stations"]["MISSING"]["error"]
    async with hub_ctx.sessionmaker() as session:
        rows = (await session.scalars(select(ChargingSessionRow))).all()
        cdrs = (await session.scalars(select(CdrRow))).all()
    assert sorted(r.kwh for r in rows) == [Decimal("7.5")] * 4
    assert {r.status for r in rows} == {"COMPLETED"} and len(cdrs) == 4
