"""Alarms: de-duplication, clearing, acknowledgement, the admin API, e-mail through a real
SMTP server on loopback (aiosmtpd), offline detection and the stale-transaction sweeper."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from hub.app import running_hub
from hub.db.base import transaction
from hub.db.models import AlarmRow, CdrRow, ChargingSessionRow, OutboxRow, StationRow
from hub.domain import AllowedType, AuthorizationResult
from hub.scheduler import sweep_offline_stations, sweep_stale_transactions
from hub.services import alarms, charging
from hub.services.charging import MeterSample
from tests.conftest import free_port
from tests.cpo_core.factories import eventually, seed_station


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


async def test_raise_is_deduplicated_until_cleared(hub_ctx) -> None:
    now = hub_ctx.clock()
    async with transaction(hub_ctx.sessionmaker) as session:
        first, new1 = await alarms.raise_alarm(session, "faulted", "ST-1", station_id="ST-1",
                                               message="m", now=now)
        again, new2 = await alarms.raise_alarm(session, "faulted", "ST-1", station_id="ST-1",
                                               message="m2", now=now)
        other, new3 = await alarms.raise_alarm(session, "offline", "ST-1", message="o",
                                               now=now)
    assert (new1, new2, new3) == (True, False, True)
    assert again.id == first.id and again.count == 2 and again.message == "m2"
    assert other.id != first.id
    async with transaction(hub_ctx.sessionmaker) as session:
        assert await alarms.clear_alarm(session, "faulted", "ST-1", now)
        assert not await alarms.clear_alarm(session, "faulted", "ST-1", now)
        reopened, new4 = await alarms.raise_alarm(session, "faulted", "ST-1", message="m3",
                                                  now=now)
    assert new4 and reopened.id != first.id
    with pytest.raises(ValueError):
        async with transaction(hub_ctx.sessionmaker) as session:
            await alarms.raise_alarm(session, "weather", "ST-1", message="?", now=now)


async def test_alarm_is_emailed_through_smtp(make_settings, smtp_server) -> None:
    controller, inbox = smtp_server
    settings = await asyncio.to_thread(make_settings, smtp={
        "host": "127.0.0.1", "port": controller.port, "from": "hub@example.org",
        "to": "ops@example.org, oncall@example.org"})
    assert settings.smtp.to == ["ops@example.org", "oncall@example.org"]
    async with running_hub(settings) as ctx:
        await seed_station(ctx, "OFF-1")
        async with transaction(ctx.sessionmaker) as session:
            row = await session.get(StationRow, "OFF-1")
            assert row is not None
            row.connected, row.last_seen_at = True, ctx.clock() - timedelta(hours=2)
        assert await sweep_offline_stations(ctx) == 1
        assert await sweep_offline_stations(ctx) == 0  # de-duplicated: one alarm, one mail

        async def mailed() -> bool:
            return len(inbox.messages) >= 1

        assert await eventually(mailed)
        async with ctx.sessionmaker() as session:
            active = (await session.scalars(select(AlarmRow))).all()
            mails = (await session.scalars(select(OutboxRow).where(
                OutboxRow.kind == "alarm_email"))).all()
        assert [(a.kind, a.subject, a.status) for a in active] == [
            ("offline", "OFF-1", "ACTIVE")]
        assert len(mails) == 1
        rcpt, msg = inbox.messages[0]
        assert rcpt == ["ops@example.org", "oncall@example.org"]
        assert msg["Subject"] == "[hub alarm] offline: OFF-1"
        assert msg["From"] == "hub@example.org"
        # The station comes back: the alarm clears.
        async with transaction(ctx.sessionmaker) as session:
            row = await session.get(StationRow, "OFF-1")
            assert row is not None
            row.connected, row.last_seen_at = True, ctx.clock()
        await sweep_offline_stations(ctx)
        async with ctx.sessionmaker() as session:
            statuses = (await session.scalars(select(AlarmRow.status))).all()
        assert statuses == ["CLEARED"]


async def test_admin_lists_and_acknowledges_alarms(settings, start_hub) -> None:
    hub = await start_hub(settings)
    async with transaction(hub.ctx.sessionmaker) as session:
        row, _ = await alarms.raise_alarm(session, "reset_failed", "ST-9", station_id="ST-9",
                                          message="gave up", now=hub.ctx.clock())
    async with httpx.AsyncClient(base_url=hub.url) as client:
        listed = (await client.get("/admin/alarms", params={"status": "active"})).json()
        assert [(a["id"], a["kind"], a["acknowledged_at"]) for a in listed] == [
            (row.id, "reset_failed", None)]
        acked = await client.post(f"/admin/alarms/{row.id}/ack")
        assert acked.status_code == 200 and acked.json()["acknowledged_at"] is not None
        assert (await client.post("/admin/alarms/999999/ack")).status_code == 404
        await seed_station(hub.ctx, "ACC-1")
        put = await client.put("/admin/stations/ACC-1/access", json={
            "mode": "private", "allowed_groups": ["STAFF"], "access_code": "1234"})
        assert put.status_code == 200
        assert put.json() == {"station_id": "ACC-1", "mode": "PRIVATE",
                              "allowed_groups": ["STAFF"], "access_code": True,
                              "free_vend_id_tag": None, "idle_stop_minutes": None}
        bad = await client.put("/admin/stations/ACC-1/access", json={"mode": "secret"})
        assert bad.status_code == 422
        health = (await client.get("/admin/stations-health")).json()
        assert {"id": "ACC-1", "health_state": "HEALTHY", "connected": False,
                "last_seen_at": None} in health


async def test_stale_transaction_is_closed_with_a_flag_and_a_cdr(hub_ctx) -> None:
    await seed_station(hub_ctx, "STALE-1")
    t0 = datetime.now(UTC) - timedelta(hours=1)
    async with transaction(hub_ctx.sessionmaker) as session:
        row = await charging.start_transaction(
            session, station_id="STALE-1", connector=1, id_tag="TAG-STALE",
            meter_start_wh=Decimal(1000), timestamp=t0,
            authorization=AuthorizationResult(AllowedType.ALLOWED), now=hub_ctx.clock())
        await charging.add_meter_values(
            session, station_id="STALE-1", connector=1, transaction_id=row.id,
            samples=[MeterSample(t0 + timedelta(minutes=20), "Energy.Active.Import.Register",
                                 Decimal("8.5"), "kWh")], now=hub_ctx.clock())
    assert await sweep_stale_transactions(hub_ctx) == []  # not silent long enough
    real_clock = hub_ctx.clock
    hub_ctx.clock = lambda: real_clock() + timedelta(hours=49)
    assert await sweep_stale_transactions(hub_ctx) == [row.id]
    async with hub_ctx.sessionmaker() as session:
        closed = await session.get(ChargingSessionRow, row.id)
        cdr = (await session.scalars(select(CdrRow).where(CdrRow.session_pk == row.id))).one()
    assert closed is not None and closed.status == "COMPLETED"
    assert "stale_closed" in closed.flags
    assert closed.meter_stop == Decimal(8500) and closed.kwh == Decimal("7.5")
    assert closed.end_date_time == t0 + timedelta(minutes=20)
    assert cdr.total_energy == Decimal("7.5")
    assert await sweep_stale_transactions(hub_ctx) == []
