"""The MeterValues hot path (docs/ocpp.md "Performance"): an open transaction kept in memory by
the connection, written with Core statements, must behave as the ORM path does: same kWh, same
throttled partner messages, nothing applied to a session closed meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from clearing.pricing import price_session
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import ChargingSessionRow, MeterValueRow, OutboxRow, PartnerRow
from hub.domain import AllowedType, AuthorizationResult, PartyRef, TokenInfo
from hub.seed import seed_demo_network
from hub.services import charging
from hub.services.parties import upsert_partner_party
from hub.settings import Settings

EE = PartyRef("EE", "ELM", "EMSP")
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
STATION = "RIGA-001-A"


def energy(seconds: int, wh: int) -> charging.MeterSample:
    return charging.MeterSample(T0 + timedelta(seconds=seconds),
                                "Energy.Active.Import.Register", Decimal(wh), "Wh")


async def _start(settings: Settings, sm, *, partner: bool) -> tuple[int, int | None]:  # type: ignore[no-untyped-def]
    partner_id = None
    async with transaction(sm) as s:
        await seed_demo_network(s, settings, T0)
        if partner:
            row = PartnerRow(name="Elmo", endpoints=[], status="CONNECTED")
            s.add(row)
            await s.flush()
            await upsert_partner_party(s, EE, row.id)
            partner_id = row.id
    auth = AuthorizationResult(
        AllowedType.ALLOWED, TokenInfo(EE, "EEELM01", "RFID", "EE-ELM-1", "Elmo"),
        source="realtime")
    async with transaction(sm) as s:
        row, new = await charging.start_transaction_once(
            s, station_id=STATION, connector=1, id_tag="EEELM01",
            meter_start_wh=Decimal(1000), timestamp=T0, authorization=auth, now=T0)
        assert new
        return row.id, partner_id


async def test_open_transaction_updates_kwh_and_throttles_like_the_orm_path(
    settings: Settings,
) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        pk, partner_id = await _start(settings, sm, partner=True)
        async with sm() as s:
            tx = await charging.open_transaction(
                s, await s.get(ChargingSessionRow, pk), T0)  # type: ignore[arg-type]
        assert tx.active and tx.emsp_partner_id == partner_id and tx.meter_start == 1000
        # 20 s and 40 s after the start: throttled; 70 s: one session message.
        for seconds, wh in ((20, 1500), (40, 2000), (70, 4000)):
            async with transaction(sm) as s:
                await charging.add_meter_values_open(
                    s, tx, [energy(seconds, wh)], T0 + timedelta(seconds=seconds))
        async with sm() as s:
            row = await s.get(ChargingSessionRow, pk)
            values = (await s.scalars(select(MeterValueRow.value).where(
                MeterValueRow.session_pk == pk).order_by(MeterValueRow.id))).all()
            outbox = (await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
        assert row is not None and row.kwh == Decimal(3)
        assert row.last_updated == T0 + timedelta(seconds=70)
        assert values == [Decimal(1500), Decimal(2000), Decimal(4000)]
        # the start's message, then one update (the two within a minute were throttled)
        assert [(o.kind, o.subject, o.partner_id, o.created_at) for o in outbox] == [
            ("session", str(pk), partner_id, T0),
            ("session", str(pk), partner_id, T0 + timedelta(seconds=70))]
    finally:
        await engine.dispose()


async def test_open_transaction_closed_meanwhile_keeps_values_but_not_kwh(
    settings: Settings,
) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        pk, _ = await _start(settings, sm, partner=False)
        async with sm() as s:
            tx = await charging.open_transaction(
                s, await s.get(ChargingSessionRow, pk), T0)  # type: ignore[arg-type]
        assert tx.active and tx.emsp_partner_id is None
        # The sweeper (or an operator) closes the session behind the connection's back.
        async with transaction(sm) as s:
            closed = await charging.close_stale_transactions(
                s, silent_since=T0 + timedelta(hours=1), pricer=price_session,
                now=T0 + timedelta(hours=1))
        assert closed == [pk]
        async with transaction(sm) as s:
            await charging.add_meter_values_open(
                s, tx, [energy(4000, 9000)], T0 + timedelta(hours=1, seconds=10))
        assert not tx.active
        async with sm() as s:
            row = await s.get(ChargingSessionRow, pk)
            values = (await s.scalars(select(MeterValueRow.value).where(
                MeterValueRow.session_pk == pk))).all()
            outbox = (await s.scalars(select(OutboxRow))).all()
        assert row is not None and row.status == "COMPLETED" and row.kwh == 0
        assert "stale_closed" in row.flags
        assert values == [Decimal(9000)]  # kept, as the ORM path keeps them
        assert outbox == []  # own eMSP: nobody to tell
    finally:
        await engine.dispose()
