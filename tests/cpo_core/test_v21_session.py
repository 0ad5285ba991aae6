"""OCPP 2.1 (subprotocol ``ocpp2.1``) on the shared endpoint: a whole session with the
simulator speaking 2.1, an admin command, the messages 2.1 added, and frames 2.1 added."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v21 import call as call21
from websockets.asyncio.client import connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core.commands201 import commands_for
from cpo_core.simulator201 import SimulatedStation201
from cpo_core.v21 import StationConnection21
from hub.db.models import StationRow
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token
from tests.cpo_core.test_v201_session import session_by_ref

TAG = "04A1B2C3D4"


async def test_whole_21_session_and_a_command(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V21-1")
    await seed_token(hub_ctx, TAG)
    async with SimulatedStation201(ocpp_url, "V21-1", PASSWORD, version="2.1") as st:
        assert st.connection.subprotocol == "ocpp2.1"
        assert await st.boot() == "Accepted"
        server = hub_ctx.components["ocpp"]
        assert isinstance(server.stations["V21-1"], StationConnection21)
        ref = await st.charge(1, TAG, Decimal("4.5"))
        answer = await commands_for(hub_ctx, "V21-1").reset("V21-1", "Soft")
        assert answer == {"status": "Accepted"} and ("Reset", "OnIdle") in st.commands
        # Messages new in 2.1 are answered.
        await st.call(call21.NotifyPriorityCharging(transaction_id=ref, activated=True))
        vat = await st.call(call21.VatNumberValidation(vat_number="LV40003000000"))
        assert (vat.status, vat.vat_number) == ("Rejected", "LV40003000000")
        # A 2.1 action without a handler gets NotSupported, not silence.
        with pytest.raises(OCPPError) as refused:
            await st.call(call21.GetCertificateChainStatus(certificate_status_requests=[{
                "certificate_hash_data": {"hash_algorithm": "SHA256", "issuer_name_hash": "a",
                                          "issuer_key_hash": "b", "serial_number": "1"},
                "source": "OCSP", "urls": ["http://ocsp.invalid/"]}]))
        assert refused.value.code == "NotSupported"
    row = await session_by_ref(hub_ctx, ref)
    assert (row.status, row.kwh) == ("COMPLETED", Decimal("4.5"))
    async with hub_ctx.sessionmaker() as session:
        station = await session.get(StationRow, "V21-1")
    assert station is not None and station.ocpp_version == "2.1"


async def test_21_send_frames_get_no_answer(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V21-2")
    headers = {"Authorization": build_authorization_basic("V21-2", PASSWORD)}
    async with connect(f"{ocpp_url}/V21-2", subprotocols=[Subprotocol("ocpp2.1")],
                       additional_headers=headers) as ws:
        assert ws.subprotocol == "ocpp2.1"
        await ws.send(json.dumps([6, "s-1", "NotifyPeriodicEventStream",
                                  {"id": 1, "pending": 0, "basetime": "2026-01-01T00:00:00Z",
                                   "data": []}]))
        await ws.send(json.dumps([2, "h-1", "Heartbeat", {}]))
        frame = json.loads(await ws.recv())
        assert frame[:2] == [3, "h-1"]


async def test_both_21_and_201_offered_prefers_201(hub_ctx, ocpp_url) -> None:
    await seed_station(hub_ctx, "V21-3")
    headers = {"Authorization": build_authorization_basic("V21-3", PASSWORD)}
    async with connect(f"{ocpp_url}/V21-3",
                       subprotocols=[Subprotocol("ocpp2.1"), Subprotocol("ocpp2.0.1")],
                       additional_headers=headers) as ws:
        assert ws.subprotocol == "ocpp2.0.1"

    async def gone() -> bool:
        return "V21-3" not in hub_ctx.components["ocpp"].stations

    assert await eventually(gone)
