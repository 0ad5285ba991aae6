"""Delivery error paths a real peer can't easily produce: answered by respx."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest
import respx
from sqlalchemy import select

from clearing.pricing import price_session
from hub.context import HubContext
from hub.db.base import make_engine, make_sessionmaker, transaction
from hub.db.models import CdrRow
from hub.domain import AllowedType, AuthorizationResult, PartnerUnavailable, PartyRef, TokenInfo
from hub.ports import DeliveryError
from hub.services.charging import start_transaction, stop_transaction
from hub.services.parties import ensure_own_parties
from ocpi import delivery_handlers
from ocpi.authorize import OcpiRemoteAuthorizer
from tests.ocpi.conftest import fake_partner

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ELM = PartyRef("EE", "ELM", "EMSP")
EMSP = "http://emsp.test/ocpi/emsp/2.2.1"
ENDPOINTS = [{"identifier": "sessions", "role": "RECEIVER", "url": f"{EMSP}/sessions"},
             {"identifier": "cdrs", "role": "RECEIVER", "url": f"{EMSP}/cdrs/"},
             {"identifier": "tokens", "role": "SENDER", "url": f"{EMSP}/tokens"}]


@pytest.fixture
async def ctx(settings) -> AsyncIterator[HubContext]:
    """A hub context with no outbox worker: the test calls the handlers itself."""
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    async with httpx.AsyncClient() as http:
        context = HubContext(settings=settings, engine=engine, sessionmaker=sessionmaker,
                             http=http, pricer=price_session)
        async with transaction(sessionmaker) as session:
            await ensure_own_parties(session, settings)
        yield context
    await engine.dispose()


async def finished_session(ctx: HubContext) -> tuple[int, int, int]:
    """(partner id, session pk, cdr pk) of an EE*ELM driver's finished session."""
    partner_id, _ = await fake_partner(SimpleNamespace(ctx=ctx), endpoints=ENDPOINTS,
                                       token_out="secret-out")
    token = TokenInfo(owner=ELM, uid="EE0001", type="RFID", contract_id="EE-ELM-1",
                      issuer="Elmo")
    auth = AuthorizationResult(AllowedType.ALLOWED, token)
    async with transaction(ctx.sessionmaker) as session:
        row = await start_transaction(session, station_id="CS9", connector=1, id_tag="EE0001",
                                      meter_start_wh=Decimal(0), timestamp=T0,
                                      authorization=auth, now=T0)
        end = T0 + timedelta(hours=1)
        await stop_transaction(session, station_id="CS9", transaction_id=row.id,
                               meter_stop_wh=Decimal(7250), timestamp=end, reason=None,
                               pricer=ctx.pricer, now=end)
        cdr_pk = await session.scalar(select(CdrRow.id).where(CdrRow.session_pk == row.id))
    return partner_id, row.id, int(cdr_pk or 0)


def message(kind: str, subject: int, partner_id: int) -> SimpleNamespace:
    return SimpleNamespace(id=1, kind=kind, partner_id=partner_id, subject=str(subject),
                           payload={}, attempts=0)


async def test_session_delivery_sends_ocpi_put(ctx: HubContext) -> None:
    partner_id, session_pk, _ = await finished_session(ctx)
    handler = delivery_handlers(ctx)["session"]
    with respx.mock:
        route = respx.put(url__startswith=f"{EMSP}/sessions/LV/BIM/").respond(
            200, json={"status_code": 1000, "timestamp": "2026-03-01T12:00:00Z"})
        await handler(message("session", session_pk, partner_id))
    request = route.calls.last.request
    assert request.headers["Authorization"] == \
        "Token " + base64.b64encode(b"secret-out").decode()
    assert request.headers["X-Request-ID"] and request.headers["X-Correlation-ID"]
    assert (request.headers["OCPI-from-country-code"], request.headers["OCPI-from-party-id"]) \
        == ("LV", "BIM")
    assert (request.headers["OCPI-to-country-code"], request.headers["OCPI-to-party-id"]) \
        == ("EE", "ELM")
    body = json.loads(request.content)
    assert body["kwh"] == 7.25 and b'"kwh":7.25' in request.content  # a number, exact
    assert body["status"] == "COMPLETED" and body["cdr_token"]["party_id"] == "ELM"
    assert str(request.url).endswith(f"/sessions/LV/BIM/{body['id']}")


@pytest.mark.parametrize(("status", "body", "retryable"), [
    (503, None, True),
    (500, {"status_code": 3000}, True),
    (200, {"status_code": 3000}, True),
    (401, {"status_code": 2000}, True),
    (404, None, True),
    (400, {"status_code": 2001, "status_message": "bad"}, False),
    (200, {"status_code": 2001, "status_message": "bad"}, False),
])
async def test_cdr_delivery_failures(ctx: HubContext, status: int, body: object,
                                     retryable: bool) -> None:
    partner_id, _, cdr_pk = await finished_session(ctx)
    handler = delivery_handlers(ctx)["cdr"]
    with respx.mock:
        route = respx.post(f"{EMSP}/cdrs").respond(status, json=body)
        with pytest.raises(DeliveryError) as caught:
            await handler(message("cdr", cdr_pk, partner_id))
    assert route.called
    assert caught.value.retryable is retryable
    sent = json.loads(route.calls.last.request.content)
    assert sent["total_energy"] == 7.25 and sent["charging_periods"]


async def test_unreachable_partner_is_retryable(ctx: HubContext) -> None:
    partner_id, _, cdr_pk = await finished_session(ctx)
    with respx.mock:
        respx.post(f"{EMSP}/cdrs").mock(side_effect=httpx.ConnectTimeout("slow"))
        with pytest.raises(DeliveryError) as caught:
            await delivery_handlers(ctx)["cdr"](message("cdr", cdr_pk, partner_id))
    assert caught.value.retryable is True
    with pytest.raises(DeliveryError) as caught:
        await delivery_handlers(ctx)["cdr"](message("cdr", 999999, partner_id))
    assert caught.value.retryable is False


async def test_realtime_authorize_owner_unreachable_raises(ctx: HubContext) -> None:
    await fake_partner(SimpleNamespace(ctx=ctx), endpoints=ENDPOINTS)
    authorizer = OcpiRemoteAuthorizer(ctx)
    with respx.mock:
        route = respx.post(f"{EMSP}/tokens/EE0001/authorize").mock(
            side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(PartnerUnavailable):
            await authorizer.authorize("EE0001", "RFID", "LOC1", ELM)
        # Asking everybody: an unreachable partner just doesn't know the token.
        assert await authorizer.authorize("EE0001", None, None, None) is None
    assert route.call_count == 2
    assert route.calls[0].request.url.params["type"] == "RFID"
    assert json.loads(route.calls[0].request.content) == {"location_id": "LOC1"}
    with pytest.raises(PartnerUnavailable):
        await authorizer.authorize("EE0001", "RFID", None, PartyRef("FI", "NOP", "EMSP"))


async def test_realtime_authorize_without_token_in_answer(ctx: HubContext) -> None:
    await fake_partner(SimpleNamespace(ctx=ctx), endpoints=ENDPOINTS)
    with respx.mock:
        respx.post(f"{EMSP}/tokens/EE%201/authorize").respond(200, json={
            "status_code": 1000, "timestamp": "2026-03-01T12:00:00Z",
            "data": {"allowed": "ALLOWED", "authorization_reference": "R1"}})
        result = await OcpiRemoteAuthorizer(ctx).authorize("EE 1", None, None, None)
    assert result is not None and result.is_allowed and result.source == "realtime"
    assert result.authorization_reference == "R1"
    assert result.token is not None and result.token.owner == ELM
    assert result.token.uid == "EE 1" and result.token.type == "RFID"
