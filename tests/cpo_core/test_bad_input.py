"""Issue 3, "Bad input", walked in one place for OCPP 1.6J and 2.0.1 (docs/ocpp.md).

Every case gets the protocol's answer (a CALLERROR in the version's spelling, a close code) or
a refused upgrade (an HTTP status, a failed TLS handshake); the connection, when it survives,
answers a Heartbeat next; another station connected at the same time keeps working; nothing that
was acknowledged is lost. Stations here are hand-written OCPP-J over plain ``websockets``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidHandshake, InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core import pki
from cpo_core.simulator import SimulatedStation
from cpo_core.simulator201 import SimulatedStation201
from hub.context import HubContext
from hub.db.models import CdrRow, ChargingSessionRow, StationRow
from tests.conftest import free_port
from tests.cpo_core.bad_input_support import (
    T0,
    TAG,
    V16,
    V201,
    VERSIONS,
    Version,
    exchange,
    frame,
    heartbeat,
    periodic_meter_rows,
    raw_station,
    session_pk,
    status_rows,
)
from tests.cpo_core.factories import PASSWORD, eventually, seed_station, seed_token
from tests.cpo_core.security_support import client_context, hub_with_profile, pki_dir

LIMIT = 16 * 1024  # max_frame_bytes of the hub in this module (the default is 1 MiB)
NOW = datetime.now(UTC)
TLS_REFUSALS = (ssl.SSLError, OSError, InvalidHandshake, EOFError)
BY_VERSION = pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)


@pytest.fixture
async def settings(make_settings):
    return await asyncio.to_thread(make_settings, ocpp={
        "host": "127.0.0.1", "port": free_port(), "max_frame_bytes": LIMIT})


class Bystanders:
    """One station per version, connected for the whole test: they must keep working."""

    def __init__(self, sockets: list[ClientConnection]) -> None:
        self.sockets = sockets
        self.rounds = 0

    async def alive(self) -> bool:
        self.rounds += 1
        answers = [await heartbeat(ws, f"by{self.rounds}") for ws in self.sockets]
        return all(answers) and all(ws.close_code is None for ws in self.sockets)


@pytest.fixture
async def bystanders(hub_ctx: HubContext, ocpp_url: str) -> AsyncIterator[Bystanders]:
    await seed_station(hub_ctx, "BY-16", password=None)
    await seed_station(hub_ctx, "BY-201", password=None)
    async with raw_station(ocpp_url, "BY-16", V16) as a, \
            raw_station(ocpp_url, "BY-201", V201) as b:
        yield Bystanders([a, b])


# -- malformed and unknown CALLs: a CALLERROR, the connection stays ------------------------------

FRAME_CASES: dict[str, Any] = {
    "invalid JSON": (lambda v: '[2,"m1","Heartbeat",{', lambda v: v.format_violation),
    "wrong frame shape": (lambda v: '[2,"m1","Heartbeat"]', lambda v: v.format_violation),
    "unknown message type id": (lambda v: '[7,"m1","Heartbeat",{}]',
                                lambda v: v.unknown_message_type),
    "unknown action": (lambda v: '[2,"m1","NoSuchAction",{}]', lambda v: "NotImplemented"),
    "schema violation": (lambda v: frame("m1", "StatusNotification", v.bad_enum_status),
                         lambda v: v.format_violation),
    "unparsable date-time": (lambda v: frame("m1", *v.bad_timestamp()),
                             lambda v: v.format_violation),
}


@BY_VERSION
@pytest.mark.parametrize("case", list(FRAME_CASES))
async def test_bad_frame_gets_the_protocol_answer(hub_ctx, ocpp_url, bystanders, version,
                                                  case) -> None:
    text, code = (make(version) for make in FRAME_CASES[case])
    await seed_station(hub_ctx, "BAD-1", password=None)
    async with raw_station(ocpp_url, "BAD-1", version) as ws:
        answer = await exchange(ws, text)
        assert answer[:3] == [4, "m1", code]
        assert isinstance(answer[3], str) and isinstance(answer[4], dict)
        assert await heartbeat(ws)
    assert await bystanders.alive()


@BY_VERSION
async def test_good_frames_between_bad_ones_are_all_kept(hub_ctx, ocpp_url, bystanders,
                                                          version) -> None:
    await seed_station(hub_ctx, "BAD-2", password=None)
    bad = [make(version) for make, _ in FRAME_CASES.values()]
    statuses = ["Available", "Unavailable", "Available", "Unavailable", "Available",
                "Unavailable", "Available"]
    async with raw_station(ocpp_url, "BAD-2", version) as ws:
        for n, status in enumerate(statuses):
            good = frame(f"s{n}", *version.status(1, status, T0))
            assert await exchange(ws, good) == [3, f"s{n}", {}]
            if n < len(bad):
                assert (await exchange(ws, bad[n]))[0] == 4
    assert await status_rows(hub_ctx, "BAD-2") == statuses
    assert await bystanders.alive()


# -- oversize frame: close 1009, the station reconnects -----------------------------------------

@BY_VERSION
async def test_oversize_frame_closes_with_1009_and_the_station_reconnects(
        hub_ctx, ocpp_url, bystanders, version) -> None:
    await seed_station(hub_ctx, "BIG-1", password=None)
    server = hub_ctx.components["ocpp"]
    async with raw_station(ocpp_url, "BIG-1", version) as ws:
        acked = frame("s", *version.status(1, "Available", T0))
        assert await exchange(ws, acked) == [3, "s", {}]
        assert server.stations["BIG-1"]._connection.protocol.max_message_size == LIMIT
        await ws.send(frame("big", *version.data_transfer("x" * LIMIT)))
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert await bystanders.alive()
    async with raw_station(ocpp_url, "BIG-1", version) as ws:
        assert await heartbeat(ws)
        fits = frame("fits", *version.data_transfer("x" * (LIMIT - 100)))
        assert LIMIT - 100 < len(fits) <= LIMIT
        assert (await exchange(ws, fits))[:2] == [3, "fits"]
    assert await status_rows(hub_ctx, "BIG-1") == ["Available"]
    assert await bystanders.alive()


# -- refused upgrades: subprotocol, password, client certificate ---------------------------------

async def refused_status(url: str, **kwargs: Any) -> tuple[int, Any]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, **kwargs):
            pass
    return info.value.response.status_code, info.value.response.headers


@pytest.mark.parametrize("offered", [None, ["ocpp1.5"], ["json", "soap"]])
async def test_wrong_subprotocol_is_refused_with_400(hub_ctx, ocpp_url, bystanders,
                                                     offered) -> None:
    await seed_station(hub_ctx, "SUB-1", password=None)
    protocols = [Subprotocol(p) for p in offered] if offered else None
    status, _ = await refused_status(f"{ocpp_url}/SUB-1", subprotocols=protocols)
    assert status == 400
    assert "SUB-1" not in hub_ctx.components["ocpp"].stations
    assert await bystanders.alive()


@BY_VERSION
async def test_wrong_password_is_refused_with_401(hub_ctx, ocpp_url, bystanders,
                                                  version) -> None:
    await seed_station(hub_ctx, "PW-1")  # with PASSWORD
    url = f"{ocpp_url}/PW-1"
    for user, password in ((None, None), ("PW-1", "wrong"), ("OTHER", PASSWORD)):
        headers = {} if user is None else {
            "Authorization": build_authorization_basic(user, password)}
        status, response_headers = await refused_status(
            url, subprotocols=version.subprotocols, additional_headers=headers)
        assert status == 401
        assert response_headers["WWW-Authenticate"].startswith("Basic")
        assert await bystanders.alive()
    async with raw_station(ocpp_url, "PW-1", version, password=PASSWORD) as ws:
        assert await heartbeat(ws)


@BY_VERSION
async def test_untrusted_or_foreign_client_certificate_is_refused(make_settings, tmp_path: Path,
                                                                  version) -> None:
    async with hub_with_profile(make_settings, 3) as ctx:
        for station_id in ("MTLS-OK", "MTLS-2"):
            await seed_station(ctx, station_id, password=None)
        ca = pki.load_ca(pki_dir(ctx))
        url = f"wss://127.0.0.1:{ctx.components['ocpp'].port}/ocpp"

        def tls(cn: str, issuer: pki.CertificateAuthority = ca) -> Any:
            key, cert = pki.issue_station_certificate(issuer, cn, NOW)
            return client_context(ca.pem, tmp_path / cn, cert, key)

        async with raw_station(url, "MTLS-OK", version, ssl=tls("MTLS-OK")) as good:
            # A certificate for the right CN from a CA we don't trust: the handshake fails.
            stranger = pki.create_ca(NOW, "Somebody else's CA")
            with pytest.raises(TLS_REFUSALS) as untrusted:
                async with raw_station(url, "MTLS-2", version, ssl=tls("MTLS-2", stranger)):
                    pass
            assert not isinstance(untrusted.value, InvalidStatus)
            assert await heartbeat(good, "h1")
            # Our CA, but the certificate names another station: 403 before the upgrade.
            status, _ = await refused_status(f"{url}/MTLS-2", ssl=tls("MTLS-OK"),
                                             subprotocols=version.subprotocols)
            assert status == 403
            assert await heartbeat(good, "h2")
            async with raw_station(url, "MTLS-2", version, ssl=tls("MTLS-2")) as second:
                assert await heartbeat(second)

            async def only_the_good_one_left() -> bool:
                return set(ctx.components["ocpp"].stations) == {"MTLS-OK"}

            assert await eventually(only_the_good_one_left)
            assert await heartbeat(good, "h3")


# -- duplicate connection: the newer one wins -----------------------------------------------------

@pytest.mark.parametrize(("first", "second"), [(V16, V16), (V201, V201), (V16, V201)],
                         ids=["1.6", "2.0.1", "1.6-then-2.0.1"])
async def test_duplicate_connection_replaces_the_old_one(hub_ctx, ocpp_url, bystanders,
                                                         first: Version, second: Version) -> None:
    await seed_station(hub_ctx, "DUP-1", password=None)
    server = hub_ctx.components["ocpp"]
    async with raw_station(ocpp_url, "DUP-1", first) as old:
        acked = frame("s", *first.status(1, "Available", T0))
        assert await exchange(old, acked) == [3, "s", {}]
        async with raw_station(ocpp_url, "DUP-1", second) as new:
            await old.wait_closed()
            assert (old.close_code, old.close_reason) == (1000, "replaced by a new connection")
            assert await heartbeat(new)
            assert server.stations["DUP-1"]._connection.subprotocol == second.subprotocol
            async with hub_ctx.sessionmaker() as session:
                row = await session.get(StationRow, "DUP-1")
                assert row is not None and row.connected
            assert await bystanders.alive()
    assert await status_rows(hub_ctx, "DUP-1") == ["Available"]


# -- a flood of CALLs from one station -----------------------------------------------------------

# MeterValues / TransactionEvent(Updated) frames of ~1 KB, sent without waiting for answers.
# Fewer for 2.0.1: charging.add_meter_values_ref reads all of a session's stored samples per
# event, so a long 2.0.1 transaction costs O(samples) per event (reported to the lead).
FLOOD = {"1.6": 200, "2.0.1": 80}


async def _send_all(ws: ClientConnection, frames: list[str]) -> None:
    for text in frames:
        await ws.send(text)


async def _calm_session(ctx: HubContext, url: str, version: Version) -> int:
    """A normal station's whole session while the flood runs; returns its session pk."""
    if version is V16:
        async with SimulatedStation(url, "CALM-1", None) as st:
            assert await st.boot() == "Accepted"
            return await st.charge(1, TAG, 5)
    async with SimulatedStation201(url, "CALM-1", None) as st201:
        assert await st201.boot() == "Accepted"
        return await session_pk(ctx, version, await st201.charge(1, TAG, 5))


@BY_VERSION
async def test_flood_is_answered_in_order_with_bounded_buffers(hub_ctx, ocpp_url,
                                                               version) -> None:
    for station_id in ("FLOOD-1", "CALM-1"):
        await seed_station(hub_ctx, station_id, password=None)
    await seed_token(hub_ctx, TAG)
    server = hub_ctx.components["ocpp"]
    async with raw_station(ocpp_url, "FLOOD-1", version) as ws:
        started = await exchange(ws, frame("start", *version.start("FLOOD-TX")))
        assert started[0] == 3 and started[2]["idTokenInfo" if version is V201 else
                                              "idTagInfo"]["status"] == "Accepted"
        tx = started[2]["transactionId"] if version is V16 else "FLOOD-TX"
        flood = FLOOD[version.name]
        frames = [frame(f"f{n}", *version.meter(tx, n)) for n in range(flood)]
        connection = server.stations["FLOOD-1"]
        assembler = connection._connection.recv_messages
        assert assembler.high == hub_ctx.settings.ocpp.max_queued_frames
        # The station's first flood frame is held until the buffer is full: the hub handles
        # frames faster than a loopback client may send them, and back-pressure must show
        # whatever the speed of either.
        release = asyncio.Event()
        dispatch = connection._dispatch

        async def held(msg: Any) -> None:
            await release.wait()
            await dispatch(msg)

        connection._dispatch = held
        sender = asyncio.create_task(_send_all(ws, frames))

        async def paused() -> bool:  # the server stopped reading this socket: back-pressure
            return bool(assembler.paused)

        assert await eventually(paused)
        del connection._dispatch
        release.set()
        calm = await _calm_session(hub_ctx, ocpp_url, version)  # while the flood is handled
        await sender
        answers = [json.loads(await ws.recv()) for _ in range(flood)]
        assert [a[:2] for a in answers] == [[3, f"f{n}"] for n in range(flood)]
        assert await heartbeat(ws)
    flood_pk = await session_pk(hub_ctx, version, tx)
    stored = await periodic_meter_rows(hub_ctx, flood_pk)
    assert stored == flood * version.samples_per_meter_frame()
    async with hub_ctx.sessionmaker() as session:
        calm_row = await session.get(ChargingSessionRow, calm)
        cdrs = (await session.scalars(select(CdrRow).where(CdrRow.session_pk == calm))).all()
    assert calm_row is not None and calm_row.status == "COMPLETED" and len(cdrs) == 1
