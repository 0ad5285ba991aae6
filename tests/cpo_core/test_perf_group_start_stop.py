"""StartTransaction and StopTransaction through the group commit (docs/ocpp.md "Performance"):
the common session - own token, nothing waiting to be linked - books exactly what the unit of
work books, and a session closed behind the connection's back is neither stopped twice nor
given a second CDR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v16 import call
from sqlalchemy import select

from clearing.pricing import price_session
from cpo_core.base import format_timestamp
from cpo_core.simulator import SimulatedStation
from hub.db.base import transaction
from hub.db.models import CdrRow, ChargingSessionRow
from hub.services import charging
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
