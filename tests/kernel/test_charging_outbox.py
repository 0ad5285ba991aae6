"""The charging service writes partner messages in the same transaction as the change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from clearing.pricing import price_session
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import CdrRow, OutboxRow, PartnerRow
from hub.domain import AllowedType, AuthorizationResult, PartyRef, TokenInfo
from hub.seed import seed_demo_network
from hub.services import charging
from hub.services.parties import upsert_partner_party
from hub.settings import Settings

EE = PartyRef("EE", "ELM", "EMSP")
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


async def test_every_state_change_reaches_the_partner_and_meter_updates_are_throttled(
    settings: Settings,
) -> None:
    engine = make_engine(settings)
    sm = make_sessionmaker(engine)
    try:
        async with transaction(sm) as s:
            await seed_demo_network(s, settings, T0)
            partner = PartnerRow(name="Elmo", endpoints=[], status="CONNECTED")
            s.add(partner)
            await s.flush()
            await upsert_partner_party(s, EE, partner.id)
        auth = AuthorizationResult(
            AllowedType.ALLOWED, TokenInfo(EE, "EEELM01", "RFID", "EE-ELM-1", "Elmo"),
            source="realtime")
        async with transaction(sm) as s:
            row = await charging.start_transaction(
                s, station_id="RIGA-001-A", connector=1, id_tag="EEELM01",
                meter_start_wh=Decimal(1000), timestamp=T0, authorization=auth, now=T0)
            tx = row.id
        for minute in (1, 2):  # two meter updates within a minute of the start: throttled
            async with transaction(sm) as s:
                await charging.add_meter_values(
                    s, station_id="RIGA-001-A", connector=1, transaction_id=tx,
                    samples=[charging.MeterSample(T0 + timedelta(seconds=20 * minute),
                                                  "Energy.Active.Import.Register",
                                                  Decimal(1000 + 500 * minute), "Wh")],
                    now=T0 + timedelta(seconds=20 * minute))
        async with transaction(sm) as s:
            await charging.stop_transaction(
                s, station_id="RIGA-001-A", transaction_id=tx, meter_stop_wh=Decimal(21000),
                timestamp=T0 + timedelta(minutes=30), reason="Local", pricer=price_session,
                now=T0 + timedelta(minutes=30))
            # A retransmitted stop changes nothing and sends nothing more.
            await charging.stop_transaction(
                s, station_id="RIGA-001-A", transaction_id=tx, meter_stop_wh=Decimal(21000),
                timestamp=T0 + timedelta(minutes=30), reason="Local", pricer=price_session,
                now=T0 + timedelta(minutes=31))
        async with transaction(sm) as s:
            kinds = [(r.kind, r.partner_id) for r in
                     (await s.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()]
            cdrs = (await s.scalars(select(CdrRow))).all()
        # start, stop (the final state is never coalesced away), then the CDR
        assert kinds == [("session", partner.id), ("session", partner.id), ("cdr", partner.id)]
        assert len(cdrs) == 1
        assert cdrs[0].total_energy == 20
        assert cdrs[0].total_cost_incl_vat == Decimal("8.47")
        assert cdrs[0].tariffs[0]["elements"][0]["price_components"][0]["vat"] == "21"
    finally:
        await engine.dispose()
