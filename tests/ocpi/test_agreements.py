"""Roaming agreements, partner status, still-alive check, HubClientInfo push (issue 5, item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from hub.context import utcnow
from hub.db.base import transaction
from hub.db.models import PartnerRow
from hub.ports import DeliveryError
from ocpi.delivery import receiver_target
from ocpi.hubclientinfo import announce_changes, still_alive
from tests.conftest import free_port
from tests.ocpi.conftest import Pair, fake_partner, ocpi_call, the_partner
from tests.ocpi.journal_helpers import Recorder, admin, journal


async def test_denied_module_is_refused_with_403(pair: Pair) -> None:
    ee_id = (await the_partner(pair.lv)).id
    token = await pair.ee_token_for_lv()
    url = f"{pair.lv.url}/ocpi/cpo/2.2.1/locations"
    r = await admin(pair.lv, "PUT", f"/ocpi/partners/{ee_id}/agreements/locations",
                    json={"allowed": False})
    assert r.json() == {"locations": False}
    refused = await ocpi_call("GET", url, token)
    assert refused.status_code == 403 and refused.json()["status_code"] == 2000
    versions = await ocpi_call("GET", f"{pair.lv.url}/ocpi/versions", token)
    assert versions.status_code == 200  # versions/credentials are never restricted
    await admin(pair.lv, "PUT", f"/ocpi/partners/{ee_id}/agreements/locations",
                json={"allowed": True})
    assert (await ocpi_call("GET", url, token)).status_code == 200


async def test_unknown_module_and_partner_rejected_by_admin(pair: Pair) -> None:
    r = await admin(pair.lv, "PUT", "/ocpi/partners/1/agreements/bogus", json={"allowed": True})
    assert r.status_code == 422
    r = await admin(pair.lv, "PUT", "/ocpi/partners/999/agreements/cdrs", json={"allowed": True})
    assert r.status_code == 404


async def test_delivery_to_a_denied_module_is_dead_lettered(lv_hub: object) -> None:
    hub = lv_hub
    pid, _ = await fake_partner(hub, endpoints=[
        {"identifier": "cdrs", "role": "RECEIVER", "url": "http://127.0.0.1:1/cdrs"}])
    await admin(hub, "PUT", f"/ocpi/partners/{pid}/agreements/cdrs", json={"allowed": False})
    async with transaction(hub.ctx.sessionmaker) as db:  # type: ignore[attr-defined]
        partner = await db.get(PartnerRow, pid)
        with pytest.raises(DeliveryError) as denied:
            await receiver_target(hub.ctx, db, partner, "cdrs")  # type: ignore[attr-defined]
    assert denied.value.retryable is False
    assert "roaming agreement" in str(denied.value)


async def test_still_alive_marks_offline_and_back(pair: Pair) -> None:
    ctx = pair.lv.ctx
    ee_id = (await the_partner(pair.lv)).id
    ctx.clock = lambda: utcnow() + timedelta(minutes=10)  # EE has been silent 10 minutes
    assert await still_alive(ctx) == {ee_id: "CONNECTED"}
    pings = [e for e in await journal(pair.lv, partner_id=ee_id, direction="out")
             if e["module"] == "versions"]
    assert pings and pings[0]["http_status"] == 200
    good_url = (await the_partner(pair.lv)).versions_url
    async with transaction(ctx.sessionmaker) as db:
        await db.execute(update(PartnerRow).where(PartnerRow.id == ee_id).values(
            versions_url=f"http://127.0.0.1:{free_port()}/ocpi/versions"))
    assert await still_alive(ctx) == {ee_id: "OFFLINE"}
    assert (await the_partner(pair.lv)).status == "OFFLINE"
    # An OFFLINE partner may still call us (that proves it is back).
    token = await pair.ee_token_for_lv()
    r = await ocpi_call("GET", f"{pair.lv.url}/ocpi/cpo/2.2.1/locations", token)
    assert r.status_code == 200
    async with transaction(ctx.sessionmaker) as db:
        await db.execute(update(PartnerRow).where(PartnerRow.id == ee_id).values(
            versions_url=good_url))
    assert await still_alive(ctx) == {ee_id: "CONNECTED"}


async def test_status_change_is_pushed_with_hubclientinfo(pair: Pair) -> None:
    ctx = pair.lv.ctx
    ee_id = (await the_partner(pair.lv)).id
    async with Recorder() as receiver:
        listener, _ = await fake_partner(pair.lv, parties=[("FI", "FIN", "CPO")], endpoints=[
            {"identifier": "hubclientinfo", "role": "RECEIVER",
             "url": f"{receiver.url}/clientinfo/"}])
        await announce_changes(ctx)  # first announcement of both partners
        receiver.received.clear()
        r = await admin(pair.lv, "PUT", f"/ocpi/partners/{ee_id}/status",
                        json={"status": "SUSPENDED"})
        assert r.status_code == 200 and r.json()["client_info_pushed"] == 1
        [(path, info)] = receiver.received
        assert path == "/clientinfo/EE/ELM"
        assert (info["country_code"], info["party_id"], info["role"], info["status"]) == \
            ("EE", "ELM", "EMSP", "SUSPENDED")
        assert await announce_changes(ctx) == 0  # nothing changed since
    assert listener != ee_id
