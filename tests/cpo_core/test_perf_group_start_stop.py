"""StartTransaction and StopTransaction through the group commit (docs/ocpp.md "Performance"):
the common session - own token, nothing waiting to be linked - books exactly what the unit of
work books, and a session closed behind the connection's back is neither stopped twice nor
given a second CDR."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ocpp.v16 import call
from sqlalchemy import select

from clearing.pricing import price_session
from cpo_core.base import format_timestamp
from cpo_core.simulator import SimulatedStation
from hub.db.base import transaction
from hub.db.models import CdrRow, ChargingSessionRow
from hub.services import charging, tokens
from tests.cpo_core.factories import PASSWORD, seed_station, seed_token

TAG = "04A1B2C3D4"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
# What differs between two sessions by nature: their ids, connector/EVSE, write times.
SESSION_OWN = {"id", "session_id", "connector_id", "evse_pk", "ocpp_connector_id",
               "last_updated"}
CDR_OWN = {"id", "cdr_id", "session_pk", "session_id", "location", "last_updated",
           "created_at", "tariffs"}


def columns(row: Any, skip: set[str]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


async def test_group_committed_session_books_what_the_unit_of_work_books(
        hub_ctx, ocpp_url) -> None:  # type: ignore[no-untyped-def]
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    batches = hub_ctx.group_commit.batches
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        fast, status = await st.start_transaction(1, TAG, 1000, T0)
        assert status == "Accepted"
        assert hub_ctx.group_commit.batches > batches  # the INSERT went through a batch
        # A reservation id sends a start through the unit of work (the reservation is
        # unknown: nothing to link).
        slow = (await st.call(call.StartTransaction(
            connector_id=2, id_tag=TAG, meter_start=1000, timestamp=format_timestamp(T0),
            reservation_id=4242))).transaction_id
        assert fast != slow
        for tx in (fast, slow):
            await st.meter_values(1 if tx == fast else 2, tx, 6000, T0 + timedelta(minutes=20))
        # The unit-of-work start is not in the connection's memory: its stop reads the row.
        for tx in (fast, slow):
            assert await st.stop_transaction(tx, 21000, TAG,
                                             T0 + timedelta(hours=1)) == "Accepted"
    async with hub_ctx.sessionmaker() as session:
        rows = {r.id: r for r in (await session.scalars(select(ChargingSessionRow))).all()}
        cdrs = {c.session_pk: c for c in (await session.scalars(select(CdrRow))).all()}
    assert rows[fast].status == "COMPLETED" and rows[fast].total_cost_excl_vat is not None
    assert columns(rows[fast], SESSION_OWN) == columns(rows[slow], SESSION_OWN)
    assert columns(cdrs[fast], CDR_OWN) == columns(cdrs[slow], CDR_OWN)
    assert cdrs[fast].cdr_id == rows[fast].session_id
    assert cdrs[fast].location["evse_uid"] != cdrs[slow].location["evse_uid"]


async def test_session_closed_meanwhile_is_not_stopped_twice(hub_ctx, ocpp_url) -> None:  # type: ignore[no-untyped-def]
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        tx, _ = await st.start_transaction(1, TAG, 1000, T0)
        # The stale sweeper closes it (with its CDR) while the station stays connected.
        async with transaction(hub_ctx.sessionmaker) as session:
            closed = await charging.close_stale_transactions(
                session, silent_since=datetime.now(UTC) + timedelta(hours=1),
                pricer=price_session, now=datetime.now(UTC))
        assert closed == [tx]
        # The station's stop is still answered, and changes nothing.
        assert await st.stop_transaction(tx, 21000, TAG, T0 + timedelta(hours=1)) == "Accepted"
    async with hub_ctx.sessionmaker() as session:
        row = await session.get(ChargingSessionRow, tx)
        cdrs = (await session.scalars(select(CdrRow).where(CdrRow.session_pk == tx))).all()
    assert row is not None and row.status == "COMPLETED" and "stale_closed" in row.flags
    assert row.meter_stop != 21000  # the sweeper's figures stay
    assert len(cdrs) == 1


async def test_retransmitted_start_gets_the_same_transaction_id(hub_ctx, ocpp_url) -> None:  # type: ignore[no-untyped-def]
    """The batched start's INSERT inserts nothing when a session with the same connector,
    idTag and start time exists; the unit of work then answers with that session's id - on
    the same connection and after a reconnect. A different meterStart is a new session, as
    before (``start_transaction_once``)."""
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        first, _ = await st.start_transaction(1, TAG, 1000, T0)
        batches = hub_ctx.group_commit.batches
        again, status = await st.start_transaction(1, TAG, 1000, T0)
        assert hub_ctx.group_commit.batches > batches  # tried as a batched INSERT first
        assert again == first and status == "Accepted"
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:  # a new connection
        after_reconnect, status = await st.start_transaction(1, TAG, 1000, T0)
        assert after_reconnect == first and status == "Accepted"
        other_meter, _ = await st.start_transaction(1, TAG, 1001, T0)
        # The idTag in another case than the token's uid: the row keeps the token's uid, and
        # the retransmission is still recognised (once created a second session).
        lower, _ = await st.start_transaction(1, TAG.lower(), 1000, T0)
        assert lower == first
    assert other_meter != first
    async with hub_ctx.sessionmaker() as session:
        rows = (await session.scalars(select(ChargingSessionRow).order_by(
            ChargingSessionRow.id))).all()
    assert [(r.id, r.meter_start) for r in rows] == [(first, 1000), (other_meter, 1001)]


async def test_different_starts_in_one_batch_are_all_inserted(hub_ctx, ocpp_url) -> None:  # type: ignore[no-untyped-def]
    """Several starts in one batch: each new one is inserted and gets its own id; a start the
    batch already inserted (same connector, idTag, start time) inserts nothing."""
    for station in ("RIGA-001", "RIGA-002"):
        await seed_station(hub_ctx, station)
    await seed_token(hub_ctx, TAG)
    now = hub_ctx.clock()
    async with hub_ctx.sessionmaker() as session:
        auth = await tokens.authorize(session, TAG, location_id=None, remote=None)

        async def plan(station: str, connector: int) -> charging.StartPlan:
            return await charging.plan_start(
                session, station_id=station, connector=connector, id_tag=TAG,
                meter_start_wh=Decimal(1000), timestamp=T0, authorization=auth, now=now)

        plans = [await plan("RIGA-001", 1), await plan("RIGA-001", 2),
                 await plan("RIGA-002", 1), await plan("RIGA-001", 1)]
    batches = hub_ctx.group_commit.batches
    results = await asyncio.gather(*(hub_ctx.group_commit.write(charging.start_write(p))
                                     for p in plans))
    assert hub_ctx.group_commit.batches == batches + 1
    ids = [r[0][0] for r in results[:3]]
    assert len(set(ids)) == 3 and results[3] == [None]
    # Over OCPP: two stations starting at once both get a session of their own.
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as a, \
            SimulatedStation(ocpp_url, "RIGA-002", PASSWORD) as b:
        started = await asyncio.gather(a.start_transaction(1, TAG, 2000, T0 + timedelta(hours=1)),
                                       b.start_transaction(1, TAG, 2000, T0 + timedelta(hours=1)))
    assert started[0][0] != started[1][0] and all(s == "Accepted" for _, s in started)
    async with hub_ctx.sessionmaker() as session:
        rows = {r.id: r for r in (await session.scalars(select(ChargingSessionRow))).all()}
    assert sorted(rows) == sorted([*ids, started[0][0], started[1][0]])
    assert [(rows[i].station_id, rows[i].ocpp_connector_id) for i in ids] == [
        ("RIGA-001", 1), ("RIGA-001", 2), ("RIGA-002", 1)]
