"""PUT charging_preferences on our CPO sessions endpoint (mod_sessions "Set: Charging
Preferences"): a running session on a simulated OCPP 1.6 station, the eMSP as a fake partner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cpo_core.simulator import SimulatedStation
from hub.db.models_ocpi_commands import OcpiChargingPreferencesRow
from tests.cpo_core.factories import PASSWORD
from tests.ocpi.conftest import ocpi_call
from tests.ocpi.test_chargingprofiles import _partner_token, running_session
from tests.ocpi.test_commands import TOKEN, Receiver, _setup
from tests.ocpi.test_commands import emsp as emsp  # the fixture
from tests.ocpi.test_commands_reservations import ocpp_url


def _later(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _put(hub: Any, token: str, session_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    res = await ocpi_call(
        "PUT", f"{hub.url}/ocpi/cpo/2.2.1/sessions/{session_id}/charging_preferences", token,
        json=body)
    data: dict[str, Any] = res.json()
    return res.status_code, data


async def test_preferences_answers_and_storage(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    await _partner_token(lv_hub)
    async with SimulatedStation(ocpp_url(lv_hub), "CMD-1", PASSWORD) as st:
        tx, sid = await running_session(lv_hub, emsp, st)
        cases = [
            ({"profile_type": "FASTEST", "departure_time": _later(3), "energy_need": 20.5},
             "ACCEPTED"),
            ({"profile_type": "REGULAR"}, "ACCEPTED"),
            ({"profile_type": "CHEAPEST", "departure_time": _later(3), "energy_need": 20},
             "PROFILE_TYPE_NOT_SUPPORTED"),
            ({"profile_type": "GREEN"}, "PROFILE_TYPE_NOT_SUPPORTED"),
            ({"profile_type": "FASTEST", "departure_time": "2020-01-01T00:00:00Z"},
             "NOT_POSSIBLE"),
            ({"profile_type": "FASTEST", "energy_need": 0}, "NOT_POSSIBLE"),
            ({"profile_type": "REGULAR", "discharge_allowed": True}, "NOT_POSSIBLE"),
            ({"profile_type": "FASTEST", "departure_time": _later(5), "energy_need": 12.25},
             "ACCEPTED"),
        ]
        for body, expected in cases:
            status, data = await _put(lv_hub, token, sid, body)
            assert (status, data["status_code"], data["data"]) == (200, 1000, expected), body
        async with lv_hub.ctx.sessionmaker() as session:
            [row] = (await session.scalars(select(OcpiChargingPreferencesRow))).all()
        assert row.session_pk == tx and row.profile_type == "FASTEST"
        assert row.energy_need == Decimal("12.25") and row.response == "ACCEPTED"
        assert row.departure_time is not None and row.departure_time.tzinfo is not None
        await st.stop_transaction(tx, 1000, TOKEN["uid"])
    status, data = await _put(lv_hub, token, sid, {"profile_type": "REGULAR"})
    assert data["data"] == "NOT_POSSIBLE"  # the session has ended


async def test_unknown_session_and_malformed_body(lv_hub: Any, emsp: Receiver) -> None:
    token = await _setup(lv_hub, emsp)
    status, data = await _put(lv_hub, token, "nope", {"profile_type": "REGULAR"})
    assert (status, data["status_code"]) == (404, 2001)
    for body in ({"profile_type": "TURBO"}, {"departure_time": _later(1)},
                 {"profile_type": "REGULAR", "energy_need": -1}, ["REGULAR"]):
        status, data = await _put(lv_hub, token, "nope", body)
        assert data["status_code"] == 2001, body
