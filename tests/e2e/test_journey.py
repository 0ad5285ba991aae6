"""End to end with real processes on loopback: two `hub serve` processes, a real OCPI
handshake between them, a real OCPP client, and the partner stopped and restarted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hub.cli.demo import EE_PARTIES
from hub.cli.processes import HubProcess
from hub.seed import DEMO_STATION_PASSWORD, DEMO_STATIONS, demo_token_uid

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL")


def _db_env(name: str, schemas: list[str]) -> dict[str, str]:
    if not PG_URL:
        return {}
    from hub.cli.pg import create_schema

    schema = f"e2e_{name}_{uuid.uuid4().hex[:8]}"
    create_schema(PG_URL, schema)
    schemas.append(schema)
    return {"HUB_DATABASE_URL": PG_URL, "HUB_DATABASE_SCHEMA": schema}


@pytest.fixture
def two_hubs(tmp_path: Path) -> Iterator[tuple[HubProcess, HubProcess]]:
    schemas: list[str] = []
    lv = HubProcess("lv", tmp_path, extra_env=_db_env("lv", schemas))
    ee = HubProcess("ee", tmp_path, parties_json=EE_PARTIES, extra_env=_db_env("ee", schemas))
    try:
        for hub in (lv, ee):
            hub.cli("db", "upgrade")
            hub.cli("db", "seed-demo")
            hub.start()
        yield lv, ee
    finally:
        for hub in (lv, ee):
            hub.stop()
        if PG_URL:
            from hub.cli.pg import drop_schema

            for schema in schemas:
                drop_schema(PG_URL, schema)


def _handshake(lv: HubProcess, ee: HubProcess) -> None:
    issued = ee.cli("partners", "issue-token", "--name", "Latvian network").stdout
    token_a = issued.split("token A: ")[1].split()[0]
    lv.cli("partners", "register", "--versions-url", f"{ee.url}/ocpi/versions",
           "--token", token_a)


def _wait(predicate, what: str, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_hub_demo_prints_the_partners_cdr_and_the_report() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    if PG_URL:
        env["HUB_DATABASE_URL"] = PG_URL
    result = subprocess.run([sys.executable, "-m", "hub", "demo"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "CDR received by the Estonian partner" in out
    assert '"total_energy": "20"' in out
    assert '"total_cost_excl_vat": "7' in out  # 20 x 0.30 + 1.00
    assert '"total_cost_incl_vat": "8.47"' in out  # (20 x 0.30 + 1.00) x 1.21
    assert "EE*ELM" in out
    report = out.split("our clearing report for")[1]
    assert "TOTAL" in report and "8.47" in report


async def test_cdr_reaches_a_partner_that_was_down_when_the_session_ended(
    two_hubs: tuple[HubProcess, HubProcess],
) -> None:
    from cpo_core.simulator import SimulatedStation

    lv, ee = two_hubs
    _handshake(lv, ee)
    id_tag = demo_token_uid("EE", "ELM")
    async with SimulatedStation(lv.ocpp_url, DEMO_STATIONS[1], DEMO_STATION_PASSWORD) as st:
        await st.boot()
        assert await st.authorize(id_tag) == "Accepted"
        tx, status = await st.start_transaction(1, id_tag, 1000)
        assert status == "Accepted"
        ee.stop()  # the partner goes down mid-session
        await st.meter_values(1, tx, 11000)
        await st.stop_transaction(tx, 21000, id_tag)  # answered although the partner is down
    # Messages to a partner go out in order: the first one to fail holds the rest back. (A
    # claimed message shows its attempt before the delivery fails and records its error.)
    failing = _wait(lambda: [m for m in lv.admin("/outbox").json()
                             if m["attempts"] >= 1 and m["status"] == "PENDING"
                             and m["last_error"]],
                    "a failed delivery to the partner that is down")
    assert failing[0]["last_error"]
    outbox = lv.admin("/outbox").json()
    assert any(m["kind"] == "cdr" and m["status"] == "PENDING" for m in outbox)
    sessions = lv.admin("/sessions").json()
    assert sessions[0]["status"] == "COMPLETED" and Decimal(sessions[0]["kwh"]) == 20

    ee.start()  # same data directory and ports: the partner is back
    cdrs = _wait(lambda: ee.admin("/cdrs?source=received").json(), "the CDR at the partner")
    _wait(lambda: all(m["status"] == "DELIVERED" for m in lv.admin("/outbox").json()),
          "every outbox message delivered")
    cdrs = ee.admin("/cdrs?source=received").json()
    assert len(cdrs) == 1
    assert Decimal(cdrs[0]["total_energy"]) == 20
    assert cdrs[0]["total_cost_incl_vat"] == "8.47"
