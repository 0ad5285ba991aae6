"""OCPP 2.0.1 over the shared endpoint: a whole session with the 2.0.1 simulator, both
subprotocols at once, retransmissions, remote start correlation by remoteStartId."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from cpo_core.simulator import SimulatedStation
from cpo_core.simulator201 import ChargeRefused, SimulatedStation201, energy_meter_value
from cpo_core.v201 import StationConnection201
from hub.db.models import (
    CdrRow,
    ChargingSessionRow,
    EvseRow,
    MeterValueRow,
    RemoteStartRow,
    StationRow,
    StationStatusRow,
)
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token

TAG = "04A1B2C3D4"


async def session_by_ref(ctx, ref: str) -> ChargingSessionRow:
    async with ctx.sessionmaker() as session:
        return (await session.scalars(select(ChargingSessionRow).where(
            ChargingSessionRow.ocpp_transaction_ref == ref))).one()


async def test_whole_session_gives_completed_session_and_cdr(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V201-1")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation201(ocpp_url, "V201-1", PASSWORD) as st:
        assert st.connection.subprotocol == "ocpp2.0.1"
        assert await st.boot() == "Accepted"
        assert await st.heartbeat()
        ref = await st.charge(1, TAG, Decimal("12.345"))
        second = await st.charge(1, TAG, 3)
    row = await session_by_ref(hub_ctx, ref)
    assert (row.status, row.kwh, row.meter_start, row.meter_stop) == (
        "COMPLETED", Decimal("12.345"), Decimal(0), Decimal(12345))
    assert row.station_id == "V201-1" and row.ocpp_connector_id == 1 and row.flags == []
    assert row.end_date_time is not None and row.end_date_time - row.start_date_time == \
        timedelta(minutes=30)
    assert row.stop_reason == "Local"
    nxt = await session_by_ref(hub_ctx, second)
    assert (nxt.kwh, nxt.meter_start) == (Decimal(3), Decimal(12345))
    async with hub_ctx.sessionmaker() as session:
        cdr = (await session.scalars(select(CdrRow).where(CdrRow.session_pk == row.id))).one()
        values = (await session.scalars(select(MeterValueRow).where(
            MeterValueRow.session_pk == row.id).order_by(MeterValueRow.timestamp))).all()
        station = await session.get(StationRow, "V201-1")
        evse = (await session.scalars(select(EvseRow).where(
            EvseRow.station_id == "V201-1", EvseRow.ocpp_connector_id == 1))).one()
        history = (await session.scalars(select(StationStatusRow).where(
            StationStatusRow.station_id == "V201-1").order_by(StationStatusRow.id))).all()
    assert cdr.total_energy == Decimal("12.345") and cdr.token_uid == TAG
    assert [v.context for v in values] == ["Transaction.Begin"] + ["Sample.Periodic"] * 3 + [
        "Transaction.End"]
    assert station is not None and station.ocpp_version == "2.0.1"
    assert station.model == "Sim-201"
    assert [h.status for h in history][:2] == ["Occupied", "Available"]
    assert evse.status == "AVAILABLE"


async def test_unknown_token_is_refused_with_unknown(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V201-1")
    await seed_token(hub_ctx, "BLOCKED01", valid=False)
    async with SimulatedStation201(ocpp_url, "V201-1", PASSWORD) as st:
        await st.boot()
        assert await st.authorize("NOBODY-KNOWS") == "Unknown"
        assert await st.authorize("BLOCKED01") == "Blocked"
        try:
            await st.charge(1, "NOBODY-KNOWS", 1)
        except ChargeRefused as exc:
            assert exc.status == "Unknown"
        else:  # pragma: no cover
            raise AssertionError("charge with an unknown token must be refused")


async def test_both_subprotocols_on_one_port_at_once(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "OLD-16")
    await seed_station(hub_ctx, "NEW-201")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation(ocpp_url, "OLD-16", PASSWORD) as old, \
            SimulatedStation201(ocpp_url, "NEW-201", PASSWORD) as new:
        assert old.connection.subprotocol == "ocpp1.6"
        assert new.connection.subprotocol == "ocpp2.0.1"
        assert await old.boot() == "Accepted" and await new.boot() == "Accepted"
        tx16, ref201 = await asyncio.gather(old.charge(1, TAG, 5), new.charge(1, TAG, 7))
        server = hub_ctx.components["ocpp"]
        assert isinstance(server.stations["NEW-201"], StationConnection201)
        assert not isinstance(server.stations["OLD-16"], StationConnection201)
    async with hub_ctx.sessionmaker() as session:
        a = await session.get(ChargingSessionRow, tx16)
        versions = {r.id: r.ocpp_version for r in (await session.scalars(
            select(StationRow).where(StationRow.id.in_(["OLD-16", "NEW-201"])))).all()}
    b = await session_by_ref(hub_ctx, ref201)
    assert a is not None and (a.status, a.kwh, a.ocpp_transaction_ref) == (
        "COMPLETED", Decimal(5), None)
    assert (b.status, b.kwh) == ("COMPLETED", Decimal(7))
    assert versions == {"OLD-16": "1.6", "NEW-201": "2.0.1"}


async def test_retransmitted_events_are_idempotent(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V201-1")
    await seed_token(hub_ctx, TAG)
    t0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    async with SimulatedStation201(ocpp_url, "V201-1", PASSWORD) as st:
        await st.boot()
        tx, status = await st.start(1, TAG, t0)
        assert status == "Accepted"
        await st.update(tx, 4000, t0 + timedelta(minutes=10))
        # The same Started and Updated again (same seqNo), as after a lost answer.
        tx.seq_no = 0
        again = await st.event(tx, "Started", "Authorized",
                               [energy_meter_value(0, "Transaction.Begin", t0)],
                               timestamp=t0, with_token=True)
        assert again.id_token_info["status"] == "Accepted"
        await st.update(tx, 4000, t0 + timedelta(minutes=10))
    # After a reconnect the in-memory seqNos are gone: the database still de-duplicates.
    async with SimulatedStation201(ocpp_url, "V201-1", PASSWORD) as st:
        st.transactions[tx.transaction_id] = tx
        tx.seq_no = 1
        await st.update(tx, 4000, t0 + timedelta(minutes=10))
        await st.end(tx.transaction_id, energy_wh=6000, timestamp=t0 + timedelta(minutes=20))
        st.transactions[tx.transaction_id] = tx
        tx.seq_no -= 1
        await st.end(tx.transaction_id, energy_wh=6000, timestamp=t0 + timedelta(minutes=20))
    row = await session_by_ref(hub_ctx, tx.transaction_id)
    async with hub_ctx.sessionmaker() as session:
        sessions = (await session.scalars(select(ChargingSessionRow))).all()
        values = (await session.scalars(select(MeterValueRow).where(
            MeterValueRow.session_pk == row.id))).all()
        cdrs = (await session.scalars(select(CdrRow))).all()
    assert len(sessions) == 1 and len(cdrs) == 1
    assert sorted(v.value for v in values) == [Decimal(0), Decimal(4000), Decimal(6000)]
    assert (row.status, row.kwh) == ("COMPLETED", Decimal(6))


async def test_remote_start_is_tied_to_its_transaction(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V201-R")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation201(ocpp_url, "V201-R", PASSWORD) as st:
        await st.boot()
        conn = await _connection(hub_ctx.components["ocpp"], "V201-R")
        result = await conn.request_start_transaction(TAG, evse_id=1, remote_start_id=4242)
        assert (result.remote_start_id, result.status) == (4242, "Accepted")
        async with asyncio.timeout(10):
            session_pk = await conn.wait_remote_start(4242)
        tx = st.remote_started[4242]
        stop = await conn.request_stop_transaction(tx.transaction_id)
        assert stop.status == "Accepted"
        row = await session_by_ref(hub_ctx, tx.transaction_id)
        assert await eventually(lambda: _completed(hub_ctx, row.id))
    async with hub_ctx.sessionmaker() as session:
        rs = (await session.scalars(select(RemoteStartRow))).one()
        done = await session.get(ChargingSessionRow, session_pk)
    assert (rs.remote_start_id, rs.status, rs.transaction_ref, rs.session_pk) == (
        4242, "Started", tx.transaction_id, session_pk)
    assert rs.id_token == TAG and rs.evse_id == 1
    assert done is not None and done.stop_reason == "Remote"


async def _completed(ctx, pk: int) -> bool:
    async with ctx.sessionmaker() as session:
        row = await session.get(ChargingSessionRow, pk)
    return row is not None and row.status == "COMPLETED"


async def _connection(server, station_id: str) -> StationConnection201:
    assert await eventually(lambda: _is_in(server, station_id))
    conn = server.stations[station_id]
    assert isinstance(conn, StationConnection201)
    return conn


async def _is_in(server, station_id: str) -> bool:
    return station_id in server.stations
