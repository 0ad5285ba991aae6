"""Partners as they really are (issue 5, item 7): deviations accepted and reported per peer.

respx only for answers our own hub never gives (403 for 401, bare 404, objects in lists)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from hub.db.base import transaction
from hub.db.models import OcpiJournalRow, PartnerRow
from hub.domain import AllowedType
from hub.ports import DeliveryError
from ocpi.authorize import OcpiRemoteAuthorizer
from ocpi.client import ocpi_request
from ocpi.delivery import receiver_target
from ocpi.journal import runtime_for
from tests.ocpi.conftest import Pair, fake_partner, ocpi_call, the_partner
from tests.ocpi.journal_helpers import admin, journal

PEER = "http://peer.test/ocpi"


async def _rows(ctx: Any) -> list[OcpiJournalRow]:
    runtime = runtime_for(ctx.http)
    assert runtime is not None
    await runtime.journal.flush()
    async with transaction(ctx.sessionmaker) as session:
        return list((await session.scalars(select(OcpiJournalRow).order_by(
            OcpiJournalRow.id))).all())


async def test_403_and_bare_404_are_accepted_and_reported(hub_ctx: Any) -> None:
    with respx.mock:
        respx.get(f"{PEER}/versions").respond(403, json={"status_code": 2000})
        respx.get(f"{PEER}/cpo/2.2.1/locations/X").respond(404, text="Not Found")
        forbidden = await ocpi_request(hub_ctx.http, "GET", f"{PEER}/versions", token="t",
                                       use_base64=True, partner_id=7)
        missing = await ocpi_request(hub_ctx.http, "GET", f"{PEER}/cpo/2.2.1/locations/X",
                                     token="t", use_base64=True, partner_id=7)
    assert (forbidden.http_status, missing.http_status, missing.status_code) == (403, 404, None)
    rows = await _rows(hub_ctx)
    assert [(r.partner_id, r.path, r.deviations) for r in rows] == [
        (7, "/ocpi/versions", "http_403"), (7, "/ocpi/cpo/2.2.1/locations/*", "bare_404")]


async def test_object_wrapped_in_a_list_is_unwrapped(hub_ctx: Any) -> None:
    hub = SimpleNamespace(ctx=hub_ctx)
    pid, _ = await fake_partner(hub, endpoints=[
        {"identifier": "tokens", "role": "SENDER", "url": f"{PEER}/emsp/2.2.1/tokens"}])
    with respx.mock:
        respx.post(f"{PEER}/emsp/2.2.1/tokens/ABC123/authorize").respond(
            200, json={"status_code": 1000, "data": [{"allowed": "ALLOWED"}],
                       "timestamp": "2026-01-01T00:00:00Z"})
        result = await OcpiRemoteAuthorizer(hub_ctx).authorize("ABC123", "RFID", None, None)
    assert result is not None and result.allowed == AllowedType.ALLOWED
    [row] = await _rows(hub_ctx)
    assert (row.partner_id, row.deviations) == (pid, "object_in_list")
    assert "ABC123" not in row.path


async def test_missing_endpoint_is_reported(hub_ctx: Any) -> None:
    pid, _ = await fake_partner(SimpleNamespace(ctx=hub_ctx), endpoints=[])
    async with transaction(hub_ctx.sessionmaker) as db:
        with pytest.raises(DeliveryError) as exc:
            await receiver_target(hub_ctx, db, await db.get(PartnerRow, pid), "sessions")
    assert exc.value.retryable is True
    [row] = await _rows(hub_ctx)
    assert (row.partner_id, row.module, row.deviations) == (pid, "sessions", "missing_endpoint")


async def test_lowercase_ids_are_reported_per_peer(pair: Pair) -> None:
    token = await pair.ee_token_for_lv()
    headers = {"X-Request-ID": "r", "X-Correlation-ID": "lower",
               "OCPI-from-country-code": "ee", "OCPI-from-party-id": "elm"}
    r = await ocpi_call("GET", f"{pair.lv.url}/ocpi/emsp/2.2.1/sessions/ee/elm/S1", token,
                        headers=headers)
    assert r.status_code in (200, 404)
    [entry] = await journal(pair.lv, correlation_id="lower")
    assert entry["deviations"] == ["lowercase_ids"]
    assert entry["path"] == "/ocpi/emsp/2.2.1/sessions/{country_code}/{party_id}/{session_id}"
    report = (await admin(pair.lv, "GET", "/ocpi/deviations")).json()
    assert report[str((await the_partner(pair.lv)).id)]["lowercase_ids"] == 1


async def test_unreachable_peer_is_journaled(hub_ctx: Any) -> None:
    with respx.mock:
        respx.get(f"{PEER}/versions").mock(side_effect=httpx.ConnectTimeout("slow"))
        with pytest.raises(Exception, match="ConnectTimeout"):
            await ocpi_request(hub_ctx.http, "GET", f"{PEER}/versions", token="t",
                               use_base64=True)
    [row] = await _rows(hub_ctx)
    assert (row.http_status, row.deviations) == (None, "unreachable")
