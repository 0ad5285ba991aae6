"""Our own locations and tariffs pushed to partners' Receivers on change: de-duplicated, one PUT
per object however many changes, an offline partner re-synced when it is back; a deleted tariff
of ours DELETEd once at every partner (tombstone), never resurrected by a re-sync."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import select, update

from hub.db.base import transaction
from hub.db.models import OcpiPushWatermarkRow, PartnerRow
from hub.db.models_ocpi_commands import OcpiTariffTombstoneRow
from hub.seed import DEMO_STATIONS, seed_demo_network
from hub.services.network import record_status, upsert_simple_tariff
from ocpi.push_own import push_own_changes
from tests.ocpi.conftest import fake_partner, ocpi_call
from tests.ocpi.journal_helpers import Recorder, admin


async def _status(hub: Any, status: str) -> None:
    now = hub.ctx.clock()
    async with transaction(hub.ctx.sessionmaker) as session:
        await record_status(session, DEMO_STATIONS[0], connector=1, status=status,
                            error_code="NoError", info=None, timestamp=now, now=now)


async def _partner_status(hub: Any, partner_id: int, status: str) -> None:
    async with transaction(hub.ctx.sessionmaker) as session:
        await session.execute(update(PartnerRow).where(PartnerRow.id == partner_id)
                              .values(status=status))


async def _received(rec: Recorder, count: int) -> list[tuple[str, dict[str, Any]]]:
    for _ in range(1500):
        if len(rec.received) >= count:
            break
        await asyncio.sleep(0.02)
    return rec.received


async def test_changes_pushed_once_and_offline_partner_resynced(make_settings,
                                                                 start_hub) -> None:
    settings = await asyncio.to_thread(make_settings, ocpi={"push_interval_seconds": 0})
    hub = await start_hub(settings)
    async with transaction(hub.ctx.sessionmaker) as session:
        assert await seed_demo_network(session, hub.ctx.settings, hub.ctx.clock())
    async with Recorder() as rec:
        partner_id, _ = await fake_partner(hub, [("EE", "ELM", "EMSP")], endpoints=[
            {"identifier": "locations", "role": "RECEIVER", "url": f"{rec.url}/locations"},
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{rec.url}/tariffs"}])
        assert await push_own_changes(hub.ctx) == 0  # first seen: it GETs the initial state
        assert await push_own_changes(hub.ctx) == 0  # nothing changed since

        await _status(hub, "Charging")
        await _status(hub, "Charging")  # repeated: the EVSE is not written again
        assert await push_own_changes(hub.ctx) == 1
        assert await push_own_changes(hub.ctx) == 0  # the change is not queued twice
        [(path, body)] = await _received(rec, 1)
        assert path == "/locations/LV/BIM/RIGA-001"
        assert body["id"] == "RIGA-001" and "last_updated" in body
        statuses = sorted(e["status"] for e in body["evses"])
        assert statuses.count("CHARGING") == 1

        # The partner goes offline: three changes, nothing queued, marked for re-sync.
        await _partner_status(hub, partner_id, "OFFLINE")
        await _status(hub, "Finishing")
        await _status(hub, "Available")
        async with transaction(hub.ctx.sessionmaker) as session:
            await upsert_simple_tariff(session, "LV-STANDARD", currency="EUR",
                                       energy_price=Decimal("0.32"), start_fee=Decimal("1.00"),
                                       now=hub.ctx.clock())
        assert await push_own_changes(hub.ctx) == 0
        async with transaction(hub.ctx.sessionmaker) as session:
            marks = (await session.scalars(select(OcpiPushWatermarkRow))).all()
            assert {m.module: m.resync_pending for m in marks} == {"locations": True,
                                                                     "tariffs": True}
        # Back: one PUT per changed object with its latest state, not one per change.
        await _partner_status(hub, partner_id, "CONNECTED")
        assert await push_own_changes(hub.ctx) == 2
        received = await _received(rec, 3)
        assert len(received) == 3
        by_path = dict(received[1:])
        location = by_path["/locations/LV/BIM/RIGA-001"]
        assert sorted(e["status"] for e in location["evses"]).count("CHARGING") == 0
        assert "AVAILABLE" in {e["status"] for e in location["evses"]}
        tariff = by_path["/tariffs/LV/BIM/LV-STANDARD"]
        prices = [c["price"] for el in tariff["elements"] for c in el["price_components"]]
        assert 0.32 in prices or "0.32" in prices
        async with transaction(hub.ctx.sessionmaker) as session:
            marks = (await session.scalars(select(OcpiPushWatermarkRow))).all()
            assert not any(m.resync_pending for m in marks)


class MethodRecorder(Recorder):
    """A loopback Receiver remembering every PUT and DELETE as (method, path, body)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, Any]] = []
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["PUT", "DELETE"])
        async def any_call(path: str, request: Request) -> dict[str, Any]:
            body = await request.body()
            self.calls.append((request.method, "/" + path,
                               json.loads(body) if body else None))
            return {"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))


async def _calls(rec: MethodRecorder, count: int) -> list[tuple[str, str, Any]]:
    for _ in range(1500):
        if len(rec.calls) >= count:
            break
        await asyncio.sleep(0.02)
    return rec.calls


NIGHT: dict[str, Any] = {
    "id": "LV-NIGHT", "currency": "EUR",
    "elements": [{"price_components": [{"type": "ENERGY", "price": 0.20, "step_size": 1}]}]}


async def test_deleted_tariff_pushed_once_and_not_resurrected(make_settings, start_hub) -> None:
    settings = await asyncio.to_thread(make_settings, ocpi={"push_interval_seconds": 0})
    hub = await start_hub(settings)
    async with transaction(hub.ctx.sessionmaker) as session:
        assert await seed_demo_network(session, hub.ctx.settings, hub.ctx.clock())
    async with MethodRecorder() as a, MethodRecorder() as b:
        _, token_a = await fake_partner(hub, [("EE", "ELM", "EMSP")], endpoints=[
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{a.url}/tariffs"}])
        b_id, _ = await fake_partner(hub, [("FI", "FIN", "EMSP")], endpoints=[
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{b.url}/tariffs"}])
        assert await push_own_changes(hub.ctx) == 0  # first seen
        assert (await admin(hub, "PUT", "/tariffs/LV-NIGHT", json=NIGHT)).status_code == 201
        assert await push_own_changes(hub.ctx) == 2
        assert [c[:2] for c in await _calls(a, 1)] == [("PUT", "/tariffs/LV/BIM/LV-NIGHT")]
        assert [c[:2] for c in await _calls(b, 1)] == [("PUT", "/tariffs/LV/BIM/LV-NIGHT")]

        # B goes offline; the operator deletes the tariff: A gets a DELETE (no body) once.
        await _partner_status(hub, b_id, "OFFLINE")
        assert (await admin(hub, "DELETE", "/tariffs/LV-NIGHT")).status_code == 204
        assert await push_own_changes(hub.ctx) == 1
        assert (await _calls(a, 2))[1] == ("DELETE", "/tariffs/LV/BIM/LV-NIGHT", None)
        assert await push_own_changes(hub.ctx) == 0  # pushed once
        # our tariffs Sender no longer lists it
        listed = await ocpi_call("GET", f"{hub.url}/ocpi/cpo/2.2.1/tariffs", token_a)
        assert "LV-NIGHT" not in {t["id"] for t in listed.json()["data"]}
        assert {t["id"] for t in listed.json()["data"]} == {"LV-STANDARD"}

        # B back: its re-sync DELETEs the tariff, it never gets the old tariff again.
        await _partner_status(hub, b_id, "CONNECTED")
        assert await push_own_changes(hub.ctx) == 1
        assert (await _calls(b, 2))[1] == ("DELETE", "/tariffs/LV/BIM/LV-NIGHT", None)
        assert await push_own_changes(hub.ctx) == 0

        # Saved again with the same id: the tombstone goes, both get the new tariff.
        assert (await admin(hub, "PUT", "/tariffs/LV-NIGHT", json=NIGHT)).status_code == 201
        assert await push_own_changes(hub.ctx) == 2
        assert (await _calls(a, 3))[2][:2] == ("PUT", "/tariffs/LV/BIM/LV-NIGHT")
        assert (await _calls(b, 3))[2][:2] == ("PUT", "/tariffs/LV/BIM/LV-NIGHT")
        async with hub.ctx.sessionmaker() as session:
            assert (await session.scalars(select(OcpiTariffTombstoneRow))).all() == []
    assert len(a.calls) == 3 and len(b.calls) == 3
