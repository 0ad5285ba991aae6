"""Access and vend modes (private stations, access codes, free vend, idle stop) and vendor
profiles (lenient inbound validation, unit fixes, configuration at boot) over OCPP 1.6J."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v16.datatypes import MeterValue, SampledValue
from sqlalchemy import update

from cpo_core.base import format_timestamp
from cpo_core.simulator import SimulatedStation
from hub.db.base import transaction
from hub.db.models import ChargingSessionRow, StationRow
from hub.domain import PartyRef, TokenInfo
from hub.services import access, tokens
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token
from tests.cpo_core.monitoring_station import commanded_station

OWN_EMSP = PartyRef("LV", "BIE", "EMSP")


async def _token(ctx, uid: str, group: str | None) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await tokens.upsert_token(session, TokenInfo(
            owner=OWN_EMSP, uid=uid, type="RFID", contract_id=f"LV-BIE-C{uid}", issuer="x",
            valid=True, whitelist="ALLOWED", group_id=group), ctx.clock())


async def _access(ctx, station_id: str, **kw) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await access.set_station_access(session, station_id, **kw)


async def _session(ctx, tx: int) -> ChargingSessionRow:
    async with ctx.sessionmaker() as session:
        row = await session.get(ChargingSessionRow, tx)
    assert row is not None
    return row


async def test_private_station_refuses_tokens_outside_its_groups(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "PRIV-1")
    await _token(hub_ctx, "STAFF0001", "STAFF")
    await _token(hub_ctx, "GUEST0001", "GUESTS")
    await _token(hub_ctx, "NOGROUP01", None)
    await _access(hub_ctx, "PRIV-1", mode="PRIVATE", allowed_groups=["STAFF"],
                  access_code="4711")
    async with SimulatedStation(ocpp_url, "PRIV-1", PASSWORD) as st:
        assert await st.authorize("STAFF0001") == "Accepted"
        assert await st.authorize("GUEST0001") == "Invalid"
        assert await st.authorize("NOGROUP01") == "Invalid"
        assert await st.authorize("4711") == "Accepted"  # the station's access code
        assert await st.authorize("4712") == "Invalid"
    # The same token is fine at a public station.
    await seed_station(hub_ctx, "PUB-1")
    async with SimulatedStation(ocpp_url, "PUB-1", PASSWORD) as st:
        assert await st.authorize("GUEST0001") == "Accepted"


async def test_free_vend_station_starts_on_plug_in_billed_to_the_owner(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "FREE-1")
    await _token(hub_ctx, "OWNER0001", None)  # the outlet owner's tag
    await _access(hub_ctx, "FREE-1", free_vend_id_tag="OWNER0001")
    async with commanded_station(ocpp_url, "FREE-1", PASSWORD) as cp:
        await cp.boot()
        await cp.call(call.StatusNotification(
            connector_id=1, error_code="NoError", status="Preparing",
            timestamp=format_timestamp(datetime.now(UTC))))

        async def started() -> bool:
            return bool(cp.names("RemoteStartTransaction"))

        assert await eventually(started)
        assert cp.names("RemoteStartTransaction") == [
            {"id_tag": "OWNER0001", "connector_id": 1}]
        res = await cp.call(call.StartTransaction(
            connector_id=1, id_tag="OWNER0001", meter_start=0,
            timestamp=format_timestamp(datetime.now(UTC))))
        assert res.id_tag_info["status"] == "Accepted"
    row = await _session(hub_ctx, res.transaction_id)
    assert row.status == "ACTIVE" and "free_vend" in row.flags
    assert row.token_uid == "OWNER0001" and row.contract_id == "LV-BIE-COWNER0001"


async def test_idle_session_is_stopped_remotely(make_settings) -> None:
    import asyncio

    from hub.app import running_hub

    settings = await asyncio.to_thread(make_settings, monitoring={"probe_after_seconds": 1e9})
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "IDLE-1")
        await seed_token(ctx, "04A1B2C3D4")
        await _access(ctx, "IDLE-1", idle_stop_minutes=10)
        url = f"ws://127.0.0.1:{settings.ocpp.port}/ocpp"
        t0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
        async with commanded_station(url, "IDLE-1", PASSWORD) as cp:
            res = await cp.call(call.StartTransaction(
                connector_id=1, id_tag="04A1B2C3D4", meter_start=1000,
                timestamp=format_timestamp(t0)))
            tx = res.transaction_id

            async def meter(minutes: int, wh: int) -> None:
                await cp.call(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
                    MeterValue(timestamp=format_timestamp(t0 + timedelta(minutes=minutes)),
                               sampled_value=[SampledValue(value=str(wh), unit="Wh")])]))

            await meter(5, 3000)
            await meter(14, 3000)  # 9 minutes without power: not yet
            await ctx.components["monitor"].check()
            assert cp.names("RemoteStopTransaction") == []
            await meter(15, 3000)  # 10 minutes
            await ctx.components["monitor"].check()
            assert cp.names("RemoteStopTransaction") == [{"transaction_id": tx}]
            await ctx.components["monitor"].check()  # asked once only
            assert len(cp.names("RemoteStopTransaction")) == 1
        assert "idle_stop_requested" in (await _session(ctx, tx)).flags


async def test_lenient_vendor_accepts_what_strict_mode_rejects(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "ABB-1")
    await seed_station(hub_ctx, "GEN-1")

    def boot(vendor: str) -> call.BootNotification:
        return call.BootNotification(charge_point_vendor=vendor, charge_point_model="X")

    too_long = "ABB Power Grids Sweden AB"  # chargePointVendor is CiString20Type
    async with commanded_station(ocpp_url, "ABB-1", PASSWORD) as cp:
        res = await cp.call(boot(too_long), skip_schema_validation=True)
        assert res.status == "Accepted"
    async with commanded_station(ocpp_url, "GEN-1", PASSWORD) as cp:
        with pytest.raises(OCPPError) as refused:
            await cp.call(boot("Generic Charger Company Ltd"), skip_schema_validation=True)
    assert refused.value.code == "TypeConstraintViolation"
    async with hub_ctx.sessionmaker() as session:
        abb = await session.get(StationRow, "ABB-1")
        gen = await session.get(StationRow, "GEN-1")
    assert abb is not None and abb.vendor == too_long
    assert gen is not None and gen.vendor is None


async def test_vendor_profile_configures_at_boot(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "ABB-2")
    async with commanded_station(ocpp_url, "ABB-2", PASSWORD) as cp:
        assert (await cp.boot(vendor="ABB", model="Terra AC")).status == "Accepted"

        async def configured() -> bool:
            return len(cp.names("ChangeConfiguration")) == 3

        assert await eventually(configured)
    keys = [c["key"] for c in cp.names("ChangeConfiguration")]
    assert keys == ["MeterValueSampleInterval", "MeterValuesSampledData", "StopTxnSampledData"]


async def test_kwh_labelled_wh_is_fixed_by_the_profile(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "KWH-1")
    await seed_token(hub_ctx, "04A1B2C3D4")
    async with transaction(hub_ctx.sessionmaker) as session:
        await session.execute(update(StationRow).where(StationRow.id == "KWH-1")
                              .values(vendor_profile="generic-kwh"))
    t0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    async with SimulatedStation(ocpp_url, "KWH-1", PASSWORD) as st:
        tx, _ = await st.start_transaction(1, "04A1B2C3D4", 10_000, t0)
        await st.call(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
            MeterValue(timestamp=format_timestamp(t0 + timedelta(minutes=30)),
                       sampled_value=[SampledValue(value="12.5", unit="Wh")])]))
    row = await _session(hub_ctx, tx)
    assert row.kwh == Decimal("2.5")  # 12.5 kWh - 10 kWh, not 12.5 Wh below the start
