"""Charging sessions over OCPP 1.6J: authorize, start, meter values, stop -> session + CDR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ocpp.v16 import call
from sqlalchemy import select

from cpo_core.simulator import ChargeRefused, SimulatedStation
from hub.db.models import CdrRow, ChargingSessionRow, EvseRow, MeterValueRow
from hub.domain import AllowedType, AuthorizationResult, PartyRef, TokenInfo
from tests.cpo_core.factories import PASSWORD, seed_station, seed_token

TAG = "04A1B2C3D4"


async def session_row(ctx, transaction_id: int) -> ChargingSessionRow:
    async with ctx.sessionmaker() as session:
        row = await session.get(ChargingSessionRow, transaction_id)
    assert row is not None
    return row


async def test_full_transaction_creates_completed_session_and_cdr(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    start = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await st.status(1, "Preparing")
        assert await st.authorize(TAG) == "Accepted"
        tx, status = await st.start_transaction(1, TAG, 1000, start)
        assert status == "Accepted"
        await st.status(1, "Charging")
        await st.meter_values(1, tx, 11000, start + timedelta(minutes=20))
        mid = await session_row(hub_ctx, tx)
        assert mid.status == "ACTIVE" and mid.kwh == Decimal(10)
        assert await st.stop_transaction(tx, 21000, TAG, start + timedelta(hours=1)) == "Accepted"
        await st.status(1, "Available")
    row = await session_row(hub_ctx, tx)
    assert row.status == "COMPLETED"
    assert row.kwh == Decimal(20)
    assert row.meter_start == Decimal(1000) and row.meter_stop == Decimal(21000)
    assert row.start_date_time == start and row.end_date_time == start + timedelta(hours=1)
    assert row.station_id == "RIGA-001" and row.ocpp_connector_id == 1 and row.flags == []
    async with hub_ctx.sessionmaker() as session:
        cdr = (await session.scalars(select(CdrRow).where(CdrRow.session_pk == tx))).one()
        values = (await session.scalars(select(MeterValueRow).where(
            MeterValueRow.session_pk == tx))).all()
        evse = (await session.scalars(select(EvseRow).where(
            EvseRow.station_id == "RIGA-001", EvseRow.ocpp_connector_id == 1))).one()
    assert cdr.total_energy == Decimal(20) and cdr.token_uid == TAG
    assert [v.value for v in values] == [Decimal(11000)]
    assert evse.status == "AVAILABLE"


async def test_retransmitted_start_returns_the_same_transaction(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    ts = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        first, _ = await st.start_transaction(2, TAG, 500, ts)
        again, status = await st.start_transaction(2, TAG, 500, ts)
    assert again == first and status == "Accepted"
    async with hub_ctx.sessionmaker() as session:
        rows = (await session.scalars(select(ChargingSessionRow))).all()
    assert [r.id for r in rows] == [first]


async def test_meter_stop_below_start_gives_zero_kwh_and_a_flag(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    start = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        tx, _ = await st.start_transaction(1, TAG, 50_000, start)
        await st.stop_transaction(tx, 40_000, TAG, start + timedelta(minutes=5))
    row = await session_row(hub_ctx, tx)
    assert row.status == "COMPLETED"
    assert row.kwh == Decimal(0)
    assert "meter_stop_below_start" in row.flags


async def test_unknown_transaction_is_still_answered(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        await st.meter_values(1, 987_654, 1234)  # no CallError raised
        assert await st.stop_transaction(987_654, 2000, None) is None
        assert await st.heartbeat()
    async with hub_ctx.sessionmaker() as session:
        assert (await session.scalars(select(MeterValueRow))).all() == []


async def test_kwh_meter_values_and_transaction_data(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, TAG)
    start = datetime(2026, 5, 4, 11, 0, tzinfo=UTC)
    sample = {"timestamp": "2026-05-04T11:30:00Z", "sampledValue": [
        {"value": "7.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register"}]}
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        tx, _ = await st.start_transaction(1, TAG, 0, start)
        await st.meter_values(1, tx, 2500, start + timedelta(minutes=10))
        res = await st.call(call.StopTransaction(
            meter_stop=9000, timestamp="2026-05-04T12:00:00Z", transaction_id=tx,
            transaction_data=[sample]))
        assert res.id_tag_info is None
    row = await session_row(hub_ctx, tx)
    assert row.kwh == Decimal(9)
    async with hub_ctx.sessionmaker() as session:
        units = sorted((v.unit, v.value) for v in (await session.scalars(
            select(MeterValueRow).where(MeterValueRow.session_pk == tx))).all())
    assert units == [("Wh", Decimal(2500)), ("kWh", Decimal("7.5"))]


async def test_unknown_and_blocked_id_tags(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    await seed_token(hub_ctx, "BLOCKED-01", valid=False)
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        assert await st.authorize("NOBODY-123") == "Invalid"
        assert await st.authorize("BLOCKED-01") == "Blocked"
        tx, status = await st.start_transaction(1, "NOBODY-123", 0)
        assert status == "Invalid"
        try:
            await st.charge(2, "NOBODY-123", 5)
        except ChargeRefused as exc:
            assert exc.status == "Invalid"
        else:
            raise AssertionError("charge with an unknown idTag was not refused")
    row = await session_row(hub_ctx, tx)
    assert row.status == "INVALID" and "not_authorized" in row.flags


class CountingPartner:
    """A RemoteAuthorizer (port) standing in for an eMSP that knows one token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def authorize(self, token_uid, token_type, location_id, owner):
        self.calls.append((token_uid, location_id))
        if token_uid != "EE-DRIVER-1":
            return None
        token = TokenInfo(owner=PartyRef("EE", "ELM", "EMSP"), uid=token_uid, type="RFID",
                          contract_id="EE-ELM-C00001", issuer="Elmo")
        return AuthorizationResult(AllowedType.ALLOWED, token, authorization_reference="REF-1",
                                   source="realtime")


async def test_start_reuses_the_authorize_verdict_of_a_realtime_call(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "RIGA-001")
    partner = CountingPartner()
    hub_ctx.remote_authorizer = partner
    async with SimulatedStation(ocpp_url, "RIGA-001", PASSWORD) as st:
        assert await st.authorize("EE-DRIVER-1") == "Accepted"
        tx, status = await st.start_transaction(1, "EE-DRIVER-1", 0)
    assert status == "Accepted"
    assert partner.calls == [("EE-DRIVER-1", "LOC-RIGA-1")]
    row = await session_row(hub_ctx, tx)
    assert row.status == "ACTIVE" and row.authorization_reference == "REF-1"
    assert row.auth_method == "AUTH_REQUEST"
