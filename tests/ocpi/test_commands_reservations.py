"""RESERVE_NOW / CANCEL_RESERVATION on our own stations (mod_commands): simulated OCPP 1.6 and
2.0.1 stations and a raw WebSocket station, an eMSP whose response_url is a loopback server;
the reservation as a Session in status RESERVATION (mod_sessions "Reservation") and the
CommandResult CANCELED_RESERVATION when the CPO cancels it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from ocpp.v201 import call as call201
from sqlalchemy import select

from cpo_core.simulator import SimulatedStation
from cpo_core.simulator201 import SimulatedStation201
from hub.cli.processes import free_port
from hub.db.base import transaction
from hub.db.models import CdrRow, OcppReservationRow
from hub.db.models_ocpi_commands import OcpiReservationRow
from ocpi.reservation_sessions import reservation_scan
from tests.cpo_core.factories import PASSWORD, eventually
from tests.cpo_core.test_operations_campaigns import raw_station
from tests.ocpi.test_commands import TOKEN, Receiver, _command, _has, _setup
from tests.ocpi.test_commands import emsp as emsp  # the fixture


def ocpp_url(hub: Any) -> str:
    return f"ws://127.0.0.1:{hub.ctx.components['ocpp'].port}/ocpp"


def reserve_body(emsp: Receiver, n: str, reservation_id: str = "RES-1", **extra: Any
                 ) -> dict[str, Any]:
    expiry = (datetime.now(UTC) + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"response_url": f"{emsp.url}/results/{n}", "token": TOKEN,
            "expiry_date": expiry, "reservation_id": reservation_id,
            "location_id": "LOC-RIGA-1", "evse_uid": "CMD-1-1", **extra}


def result_of(emsp: Receiver, n: str) -> list[str]:
    return [r["result"] for r in emsp.results if r["n"] == n]


async def reservations(hub: Any) -> list[OcpiReservationRow]:
    async with hub.ctx.sessionmaker() as session:
        return list((await session.scalars(select(OcpiReservationRow))).all())


async def test_reserve_is_consumed_by_the_next_session(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        answer = await _command(lv_hub, token, "RESERVE_NOW", reserve_body(
            emsp, "res", authorization_reference="AUTH-RES-1"))
        assert answer["data"] == {"result": "ACCEPTED", "timeout": 30}
        assert await eventually(lambda: _has(emsp.results, "res"))
        assert result_of(emsp, "res") == ["ACCEPTED"]
        [row] = await reservations(lv_hub)
        assert row.status == "RESERVED" and row.ocpp_reservation_pk is not None
        # the station holds our own reservation id, never the eMSP's "RES-1"
        assert list(st.state.reservations) == [row.ocpp_reservation_pk]

        tx, status = await st.start_transaction(1, TOKEN["uid"], 0,
                                                reservation_id=row.ocpp_reservation_pk)
        assert status == "Accepted"
        assert await eventually(lambda: _pushed(emsp))
        assert emsp.sessions[0]["authorization_reference"] == "AUTH-RES-1"
        await st.stop_transaction(tx, 1000, TOKEN["uid"])
    [row] = await reservations(lv_hub)
    assert row.status == "USED" and row.session_pk == tx
    async with lv_hub.ctx.sessionmaker() as session:
        ocpp = await session.get(OcppReservationRow, row.ocpp_reservation_pk)
        cdr = (await session.scalars(select(CdrRow))).one()
    assert ocpp is not None and ocpp.status == "Used" and ocpp.source == "ocpi"
    assert cdr.authorization_reference == "AUTH-RES-1"

    # the journal: masked token, the answer and the result, queryable from the admin API
    async with httpx.AsyncClient(base_url=f"{lv_hub.url}/admin", timeout=10) as admin:
        entries = (await admin.get("/ocpi/commands")).json()
        entry = (await admin.get(f"/ocpi/commands/{entries[0]['id']}")).json()
    assert entry["command"] == "RESERVE_NOW" and entry["status"] == "DONE"
    assert entry["response"] == "ACCEPTED" and entry["result"] == "ACCEPTED"
    assert entry["request"]["token"]["uid"] == "****CMD1"
    assert entry["response_url"] == f"{emsp.url}/results/res"


async def _pushed(emsp: Receiver) -> bool:
    return bool(emsp.sessions)


async def test_cancel_known_and_unknown_reservation_on_201(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation201(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "res"))
        assert await eventually(lambda: _has(emsp.results, "res"))
        assert result_of(emsp, "res") == ["ACCEPTED"]
        [row] = await reservations(lv_hub)
        assert ("ReserveNow", str(row.ocpp_reservation_pk)) in st.commands

        unknown = await _command(lv_hub, token, "CANCEL_RESERVATION", {
            "response_url": f"{emsp.url}/results/unknown", "reservation_id": "NOPE"})
        assert unknown["data"]["result"] == "REJECTED"
        cancel = await _command(lv_hub, token, "CANCEL_RESERVATION", {
            "response_url": f"{emsp.url}/results/cancel", "reservation_id": "RES-1"})
        assert cancel["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has(emsp.results, "cancel"))
        assert result_of(emsp, "cancel") == ["ACCEPTED"]
        assert ("CancelReservation", str(row.ocpp_reservation_pk)) in st.commands
    [row] = await reservations(lv_hub)
    assert row.status == "CANCELLED"
    again = await _command(lv_hub, token, "CANCEL_RESERVATION", {
        "response_url": f"{emsp.url}/results/again", "reservation_id": "RES-1"})
    assert again["data"]["result"] == "REJECTED"
    assert not _has_now(emsp, "unknown") and not _has_now(emsp, "again")


def _has_now(emsp: Receiver, n: str) -> bool:
    return any(r["n"] == n for r in emsp.results)


async def test_station_forgot_the_reservation_and_replacement(lv_hub: Any,
                                                              emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "first"))
        assert await eventually(lambda: _has(emsp.results, "first"))
        [first] = await reservations(lv_hub)
        # the same reservation_id at the same Location replaces the reservation
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "second"))
        assert await eventually(lambda: _has(emsp.results, "second"))
        [second] = await reservations(lv_hub)
        assert second.id == first.id and second.status == "RESERVED"
        assert second.ocpp_reservation_pk != first.ocpp_reservation_pk
        assert list(st.state.reservations) == [second.ocpp_reservation_pk]

        st.state.reservations.clear()  # e.g. the station restarted
        await _command(lv_hub, token, "CANCEL_RESERVATION", {
            "response_url": f"{emsp.url}/results/cancel", "reservation_id": "RES-1"})
        assert await eventually(lambda: _has(emsp.results, "cancel"))
        assert result_of(emsp, "cancel") == ["UNKNOWN_RESERVATION"]

        await st.start_transaction(1, TOKEN["uid"], 0)  # the EVSE is now occupied
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "busy", "RES-2"))
        assert await eventually(lambda: _has(emsp.results, "busy"))
        assert result_of(emsp, "busy") == ["EVSE_OCCUPIED"]
    rows = {r.reservation_id: r.status for r in await reservations(lv_hub)}
    assert rows == {"RES-1": "CANCELLED", "RES-2": "REJECTED"}


async def test_station_rejects_or_stays_silent(make_settings: Any, start_hub: Any,
                                               emsp: Receiver) -> None:
    settings = await asyncio.to_thread(make_settings, ocpp={
        "host": "127.0.0.1", "port": free_port(), "call_timeout": 1.0})
    hub = await start_hub(settings)
    token = await _setup(hub, emsp)
    async with await raw_station(hub, "CMD-1") as ws:
        async def refuse() -> None:
            frame = json.loads(await ws.recv())
            assert frame[2] == "ReserveNow"
            await ws.send(json.dumps([3, frame[1], {"status": "Rejected"}]))

        refusing = asyncio.create_task(refuse())
        await _command(hub, token, "RESERVE_NOW", reserve_body(emsp, "refused"))
        await refusing
        assert await eventually(lambda: _has(emsp.results, "refused"))
        assert result_of(emsp, "refused") == ["REJECTED"]

        silent = await _command(hub, token, "RESERVE_NOW", reserve_body(emsp, "silent", "R-2"))
        assert silent["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has(emsp.results, "silent"))
        assert result_of(emsp, "silent") == ["TIMEOUT"]
    statuses = {r.reservation_id: r.status for r in await reservations(hub)}
    assert statuses == {"RES-1": "REJECTED", "R-2": "REJECTED"}


async def test_malformed_and_refused_reservations(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    missing = {k: v for k, v in reserve_body(emsp, "x").items() if k != "expiry_date"}
    bad = await _command(lv_hub, token, "RESERVE_NOW", missing)
    assert bad["status_code"] == 2001
    long_id = await _command(lv_hub, token, "RESERVE_NOW",
                             reserve_body(emsp, "x", "R" * 37))
    assert long_id["status_code"] == 2001
    foreign = await _command(lv_hub, token, "RESERVE_NOW", reserve_body(
        emsp, "x", token={**TOKEN, "party_id": "XXX"}))
    assert foreign["status_code"] == 2001
    no_id = await _command(lv_hub, token, "CANCEL_RESERVATION", {
        "response_url": f"{emsp.url}/results/x"})
    assert no_id["status_code"] == 2001
    past = await _command(lv_hub, token, "RESERVE_NOW", reserve_body(
        emsp, "x", expiry_date="2020-01-01T00:00:00Z"))
    assert past["data"]["result"] == "REJECTED"
    nowhere = await _command(lv_hub, token, "RESERVE_NOW", reserve_body(
        emsp, "x", evse_uid="NO-SUCH-EVSE"))
    assert nowhere["data"]["result"] == "REJECTED"
    assert await reservations(lv_hub) == []
    async with httpx.AsyncClient(base_url=f"{lv_hub.url}/admin", timeout=10) as admin:
        entries = (await admin.get("/ocpi/commands")).json()
        missing_entry = await admin.get("/ocpi/commands/999999")
    assert [(e["response"], e["status"]) for e in entries] == [("REJECTED", "ANSWERED")] * 2
    assert missing_entry.status_code == 404


# -- the reservation as a Session (mod_sessions "Reservation") and CANCELED_RESERVATION --------


async def _session_with(emsp: Receiver, session_id: str, status: str) -> bool:
    return any(s["id"] == session_id and s["status"] == status for s in emsp.sessions)


async def _by_id(hub: Any, reservation_id: str) -> OcpiReservationRow:
    [row] = [r for r in await reservations(hub) if r.reservation_id == reservation_id]
    return row


async def test_reservation_session_becomes_the_charging_session(lv_hub: Any,
                                                                emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(
            emsp, "res", authorization_reference="AUTH-RES-9"))
        assert await eventually(lambda: _pushed(emsp))
        [reserved] = emsp.sessions
        row = await _by_id(lv_hub, "RES-1")
        assert reserved["id"] == row.session_id and reserved["status"] == "RESERVATION"
        assert reserved["kwh"] == 0 and reserved["auth_method"] == "COMMAND"
        assert (reserved["country_code"], reserved["party_id"]) == ("LV", "BIM")
        assert (reserved["location_id"], reserved["evse_uid"]) == ("LOC-RIGA-1", "CMD-1-1")
        assert reserved["connector_id"] == "1" and "end_date_time" not in reserved
        assert reserved["cdr_token"]["uid"] == TOKEN["uid"]
        assert reserved["cdr_token"]["contract_id"] == TOKEN["contract_id"]
        assert reserved["authorization_reference"] == "AUTH-RES-9"

        tx, _ = await st.start_transaction(1, TOKEN["uid"], 0,
                                           reservation_id=row.ocpp_reservation_pk)
        assert await eventually(lambda: _session_with(emsp, reserved["id"], "ACTIVE"))
        await st.stop_transaction(tx, 2000, TOKEN["uid"])
        assert await eventually(lambda: _session_with(emsp, reserved["id"], "COMPLETED"))
    # one Session object: RESERVATION -> ACTIVE -> COMPLETED, and the CDR names it
    assert {s["id"] for s in emsp.sessions} == {reserved["id"]}
    statuses = [s["status"] for s in emsp.sessions]
    assert statuses[0] == "RESERVATION" and statuses[-1] == "COMPLETED"
    assert "ACTIVE" in statuses and statuses.count("RESERVATION") == 1
    async with lv_hub.ctx.sessionmaker() as session:
        cdr = (await session.scalars(select(CdrRow))).one()
    assert cdr.session_id == reserved["id"]
    assert (await _by_id(lv_hub, "RES-1")).status == "USED"
    assert await reservation_scan(lv_hub.ctx) == 0  # a used reservation is not ended again


async def test_reservation_cancelled_by_the_cpo_expired_or_by_the_emsp(
        lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        sids = {}
        for n, rid in (("cpo", "RES-CPO"), ("exp", "RES-EXP"), ("emsp", "RES-EMSP")):
            await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, n, rid))
            assert await eventually(lambda n=n: _has(emsp.results, n))  # type: ignore[misc]
            sids[rid] = (await _by_id(lv_hub, rid)).session_id
            assert await eventually(lambda s=sids[rid]: _session_with(  # type: ignore[misc]
                emsp, s, "RESERVATION"))

        # The operator cancels one on the station: the CPO cancelled it.
        cpo = await _by_id(lv_hub, "RES-CPO")
        async with httpx.AsyncClient(base_url=f"{lv_hub.url}/admin", timeout=10) as admin:
            res = await admin.delete(f"/stations/CMD-1/reservations/{cpo.ocpp_reservation_pk}")
        assert res.json() == {"status": "Accepted"}
        # One expires (moved into the past beyond the grace).
        async with transaction(lv_hub.ctx.sessionmaker) as session:
            exp = await session.get(OcpiReservationRow, (await _by_id(lv_hub, "RES-EXP")).id)
            assert exp is not None
            exp.expiry_date = datetime.now(UTC) - timedelta(minutes=5)
        # The eMSP cancels one itself.
        cancel = await _command(lv_hub, token, "CANCEL_RESERVATION", {
            "response_url": f"{emsp.url}/results/cancel", "reservation_id": "RES-EMSP"})
        assert cancel["data"]["result"] == "ACCEPTED"
        assert await eventually(lambda: _has(emsp.results, "cancel"))

        assert await reservation_scan(lv_hub.ctx) == 2  # the CPO's cancel and the expiry
        assert await reservation_scan(lv_hub.ctx) == 0
        for rid in ("RES-CPO", "RES-EXP", "RES-EMSP"):
            assert await eventually(lambda s=sids[rid]: _session_with(  # type: ignore[misc]
                emsp, s, "COMPLETED")), rid
        assert await eventually(lambda: _bool(result_of(emsp, "cpo") == [
            "ACCEPTED", "CANCELED_RESERVATION"]))
    assert result_of(emsp, "exp") == ["ACCEPTED"]  # an expiry is no cancel by the CPO
    assert result_of(emsp, "emsp") == ["ACCEPTED"] and result_of(emsp, "cancel") == ["ACCEPTED"]
    completed = [s for s in emsp.sessions if s["status"] == "COMPLETED"]
    assert all(s["kwh"] == 0 and "end_date_time" in s for s in completed)
    statuses = {r.reservation_id: r.status for r in await reservations(lv_hub)}
    assert statuses == {"RES-CPO": "CANCELLED", "RES-EXP": "EXPIRED", "RES-EMSP": "CANCELLED"}
    async with lv_hub.ctx.sessionmaker() as session:
        assert (await session.scalars(select(CdrRow))).all() == []  # no CDR for these

    # The eMSP uses the same reservation_id again: a new reservation, a new Session.
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "again", "RES-CPO"))
        assert await eventually(lambda: _has(emsp.results, "again"))
        again = await _by_id(lv_hub, "RES-CPO")
        assert again.status == "RESERVED" and again.session_id not in sids.values()


async def test_station_removed_reservation_on_201(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation201(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "res"))
        assert await eventually(lambda: _has(emsp.results, "res"))
        row = await _by_id(lv_hub, "RES-1")
        # OCPP 2.0.1 H04: the station removed it (e.g. a fault): a cancel by the CPO
        await st.call(call201.ReservationStatusUpdate(
            reservation_id=row.ocpp_reservation_pk, reservation_update_status="Removed"))
        assert await reservation_scan(lv_hub.ctx) == 1
        assert await eventually(lambda: _bool(len(result_of(emsp, "res")) == 2))
        assert await eventually(lambda: _session_with(emsp, str(row.session_id), "COMPLETED"))
    assert result_of(emsp, "res") == ["ACCEPTED", "CANCELED_RESERVATION"]


async def _bool(value: bool) -> bool:
    return value


async def test_reservation_session_becomes_active_on_201(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    async with SimulatedStation201(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        assert await st.boot() == "Accepted"
        await _command(lv_hub, token, "RESERVE_NOW", reserve_body(emsp, "res"))
        assert await eventually(lambda: _has(emsp.results, "res"))
        row = await _by_id(lv_hub, "RES-1")
        assert await eventually(lambda: _session_with(emsp, str(row.session_id),
                                                      "RESERVATION"))
        tx, status = await st.start(1, TOKEN["uid"])
        assert status == "Accepted"
        assert await eventually(lambda: _session_with(emsp, str(row.session_id), "ACTIVE"))
        await st.end(tx.transaction_id)
        assert await eventually(lambda: _session_with(emsp, str(row.session_id), "COMPLETED"))
    assert {s["id"] for s in emsp.sessions} == {row.session_id}
    async with lv_hub.ctx.sessionmaker() as session:
        cdr = (await session.scalars(select(CdrRow))).one()
    assert cdr.session_id == row.session_id
