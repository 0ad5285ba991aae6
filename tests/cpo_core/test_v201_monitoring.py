"""Monitoring hooks and vendor profiles for OCPP 2.0.1 stations: a Faulted 2.0.1 station gets
Reset OnIdle, then Immediate; a boot clears an unresponsive mark; boot configuration goes out
as SetVariables; a forced kWh profile fixes 2.0.1 meter values."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import update

from cpo_core.monitoring import HealthMonitor
from cpo_core.simulator201 import SimulatedStation201
from hub.app import running_hub
from hub.db.base import transaction
from hub.db.models import StationRow
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token
from tests.cpo_core.test_v201_session import session_by_ref

FAST = {"fault_seconds": 0, "recovery_seconds": 0, "probe_after_seconds": 1e9,
        "probe_timeout_seconds": 2}


async def _health(ctx, station_id: str) -> str:
    async with ctx.sessionmaker() as session:
        row = await session.get(StationRow, station_id)
    assert row is not None
    return row.health_state


async def test_faulted_201_station_gets_reset(make_settings) -> None:
    settings = await asyncio.to_thread(make_settings, monitoring=FAST)
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "F-201")
        monitor = ctx.components["monitor"]
        assert isinstance(monitor, HealthMonitor)
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with SimulatedStation201(url, "F-201", PASSWORD) as st:
            assert await st.boot() == "Accepted"
            await st.status(1, "Faulted")
            await monitor.check()
            assert await _health(ctx, "F-201") == "FAULTED"
            await monitor.check()
            assert [c for c in st.commands if c[0] == "Reset"] == [("Reset", "OnIdle")]
            await monitor.check()
            assert [c for c in st.commands if c[0] == "Reset"] == [
                ("Reset", "OnIdle"), ("Reset", "Immediate")]
            # Back to Available: healthy again.
            await st.status(1, "Available")
            await monitor.check()
            assert await _health(ctx, "F-201") == "HEALTHY"
            # A boot marks the station alive (observe_alive).
            monitor._get("F-201").unresponsive = True
            await st.boot()
            assert monitor.health["F-201"].unresponsive is False


async def test_vendor_profile_sets_variables_at_boot(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "ABB-201")
    async with SimulatedStation201(ocpp_url, "ABB-201", PASSWORD, vendor="ABB",
                                   model="Terra AC") as st:
        assert await st.boot() == "Accepted"

        async def configured() -> bool:
            return st.variables.get(("SampledDataCtrlr", "TxEndedMeasurands")) == \
                "Energy.Active.Import.Register"

        assert await eventually(configured)
    assert st.variables[("SampledDataCtrlr", "TxUpdatedInterval")] == "60"
    assert st.variables[("SampledDataCtrlr", "TxUpdatedMeasurands")] == \
        "Energy.Active.Import.Register,Power.Active.Import"


async def test_forced_kwh_profile_fixes_201_meter_values(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "KWH-201")
    await seed_token(hub_ctx, "04A1B2C3D4")
    async with transaction(hub_ctx.sessionmaker) as session:
        await session.execute(update(StationRow).where(StationRow.id == "KWH-201")
                              .values(vendor_profile="generic-kwh"))
    async with SimulatedStation201(ocpp_url, "KWH-201", PASSWORD) as st:
        await st.boot()
        # Registers 0 -> 7 labelled "Wh" are kWh for this profile: 7 kWh, not 0.007.
        ref = await st.charge(1, "04A1B2C3D4", Decimal("0.007"))
    row = await session_by_ref(hub_ctx, ref)
    assert row.kwh == Decimal(7)
