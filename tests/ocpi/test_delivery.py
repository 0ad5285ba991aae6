from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from hub.db.base import transaction
from hub.db.models import CdrRow, ChargingSessionRow, OutboxRow
from hub.domain import AllowedType, AuthorizationResult, PartyRef, TokenInfo
from hub.services.charging import start_transaction, stop_transaction
from hub.services.records import get_cdr_by_pk, get_received_session
from ocpi.encoding import dumps
from ocpi.mappers import cdr_from_domain
from tests.ocpi.conftest import Pair, ocpi_call
from tests.ocpi.test_locations import seed_locations

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ELM = PartyRef("EE", "ELM", "EMSP")


async def charge_ee_driver(hub) -> int:
    """A session of an EE*ELM driver at our station CS0; returns the CDR pk."""
    ctx = hub.ctx
    token = TokenInfo(owner=ELM, uid="EE0001", type="RFID", contract_id="EE-ELM-1",
                      issuer="Elmo")
    auth = AuthorizationResult(AllowedType.ALLOWED, token, authorization_reference="ref-1",
                               source="realtime")
    async with transaction(ctx.sessionmaker) as session:
        row = await start_transaction(session, station_id="CS0", connector=1, id_tag="EE0001",
                                      meter_start_wh=Decimal(1000), timestamp=T0,
                                      authorization=auth, now=T0)
    ctx.outbox_written()
    # Let the start reach the eMSP first: the kernel coalesces a pending session update, and
    # a delivery in flight still counts as pending (reported to the lead).
    await wait_delivered(hub, 1)
    end = T0 + timedelta(minutes=90)
    async with transaction(ctx.sessionmaker) as session:
        await stop_transaction(session, station_id="CS0", transaction_id=row.id,
                               meter_stop_wh=Decimal(13500), timestamp=end, reason="Local",
                               pricer=ctx.pricer, now=end)
        cdr_pk = await session.scalar(select(CdrRow.id).where(CdrRow.session_pk == row.id))
    ctx.outbox_written()
    assert cdr_pk is not None
    return int(cdr_pk)


async def wait_delivered(hub, expected: int) -> list[OutboxRow]:
    for _ in range(500):
        async with transaction(hub.ctx.sessionmaker) as session:
            rows = list((await session.scalars(select(OutboxRow))).all())
        if len(rows) >= expected and all(r.status != "PENDING" for r in rows):
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox not drained: {[(r.kind, r.status, r.last_error) for r in rows]}")


async def test_session_and_cdr_reach_the_emsp_once(pair: Pair) -> None:
    await seed_locations(pair.lv, 1)
    cdr_pk = await charge_ee_driver(pair.lv)
    rows = await wait_delivered(pair.lv, 3)
    assert sorted(r.kind for r in rows) == ["cdr", "session", "session"]
    assert all(r.status == "DELIVERED" for r in rows), [r.last_error for r in rows]

    lv = PartyRef("LV", "BIM", "CPO")
    async with transaction(pair.ee.ctx.sessionmaker) as session:
        cdrs = (await session.scalars(select(CdrRow))).all()
        s = await get_received_session(session, lv, cdrs[0].session_id or "")
    assert len(cdrs) == 1
    cdr = cdrs[0]
    assert cdr.source == "received" and cdr.total_energy == Decimal("12.5")
    assert cdr.token_uid == "EE0001" and cdr.authorization_reference == "ref-1"
    assert cdr.total_cost_excl_vat > 0
    assert s.status == "COMPLETED" and s.kwh == Decimal("12.5")
    assert s.location_id == "LOC0" and s.evse_uid == "CS0-1"

    # The CPO posts the same CDR again (e.g. a lost answer): success, still one CDR.
    async with transaction(pair.lv.ctx.sessionmaker) as session:
        body = cdr_from_domain(await get_cdr_by_pk(session, cdr_pk))
    r = await ocpi_call("POST", f"{pair.ee.url}/ocpi/emsp/2.2.1/cdrs",
                        await pair.lv_token_for_ee(), content=dumps(body),
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["status_code"] == 1000
    location = r.headers["Location"]
    assert location == f"{pair.ee.url}/ocpi/emsp/2.2.1/cdrs/LV/BIM/{body['id']}"
    async with transaction(pair.ee.ctx.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(CdrRow)) == 1
        assert await session.scalar(select(func.count()).select_from(ChargingSessionRow)) == 1
    r = await ocpi_call("GET", location, await pair.lv_token_for_ee())
    data = r.json()["data"]
    assert data["id"] == body["id"] and data["total_energy"] == 12.5
    assert data["cdr_token"]["uid"] == "EE0001"
