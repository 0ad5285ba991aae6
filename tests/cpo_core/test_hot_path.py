"""The OCPP 1.6 hot path's shortcuts (docs/ocpp.md "Performance"): heartbeats write
last_seen_at at most every 30 s (and half a heartbeat interval) per connection; a
StatusNotification writes the EVSE and its location only when the EVSE status changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ocpp.v16 import call
from sqlalchemy import select

from cpo_core.base import format_timestamp
from hub.app import running_hub
from hub.db.models import EvseRow, LocationRow, StationRow, StationStatusRow
from tests.cpo_core.factories import PASSWORD, seed_station
from tests.cpo_core.monitoring_station import commanded_station


async def _station(ctx, station_id: str) -> StationRow:
    async with ctx.sessionmaker() as session:
        row = await session.get(StationRow, station_id)
    assert row is not None
    return row


async def test_heartbeat_writes_last_seen_at_most_every_30_seconds(make_settings) -> None:
    settings = await asyncio.to_thread(make_settings)
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "HB-1")
        t0 = datetime.now(UTC).replace(microsecond=0)
        ctx.clock = lambda: t0
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        async with commanded_station(url, "HB-1", PASSWORD) as cp:
            assert (await cp.boot()).status == "Accepted"
            ctx.clock = lambda: t0 + timedelta(seconds=10)
            await cp.call(call.Heartbeat())
            assert (await _station(ctx, "HB-1")).last_seen_at == t0  # within 30 s: kept
            ctx.clock = lambda: t0 + timedelta(seconds=31)
            await cp.call(call.Heartbeat())
            row = await _station(ctx, "HB-1")
            assert row.last_seen_at == t0 + timedelta(seconds=31) and row.connected


async def test_status_writes_evse_and_location_only_on_change(make_settings) -> None:
    settings = await asyncio.to_thread(make_settings)
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "ST-1")
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
        async with commanded_station(url, "ST-1", PASSWORD) as cp:
            for n, status in enumerate(("Charging", "SuspendedEV", "Available")):
                ctx.clock = lambda n=n: t0 + timedelta(seconds=n)
                await cp.call(call.StatusNotification(
                    connector_id=1, error_code="NoError", status=status,
                    timestamp=format_timestamp(t0)))
                async with ctx.sessionmaker() as session:
                    evse = (await session.scalars(select(EvseRow).where(
                        EvseRow.station_id == "ST-1", EvseRow.ocpp_connector_id == 1))).one()
                    location = await session.get(LocationRow, evse.location_pk)
                    history = (await session.scalars(select(StationStatusRow.status).where(
                        StationStatusRow.station_id == "ST-1"))).all()
                assert location is not None
                # Charging -> CHARGING at t0; SuspendedEV is CHARGING too: nothing rewritten.
                expected = "AVAILABLE" if status == "Available" else "CHARGING"
                changed_at = t0 + timedelta(seconds=2 if status == "Available" else 0)
                assert (evse.status, evse.last_updated) == (expected, changed_at)
                assert location.last_updated == changed_at
                assert len(history) == n + 1 and history[-1] == status
