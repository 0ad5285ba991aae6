"""Three networks as real processes on loopback (issue 5 item 10): the Latvian hub (CPO + eMSP),
an Estonian eMSP and a Finnish platform that is CPO and eMSP at once. Each driver charges abroad;
every session and CDR reaches the eMSP that owns the token and no other."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cpo_core.simulator import SimulatedStation
from hub.cli.demo import EE_PARTIES
from hub.cli.processes import HubProcess
from hub.seed import DEMO_STATION_PASSWORD, DEMO_STATIONS, demo_token_uid
from tests.e2e.test_journey import _wait

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL")
FI_PARTIES = ('[{"country_code":"FI","party_id":"FOR","role":"CPO","name":"Forte (Finland)"},'
              '{"country_code":"FI","party_id":"FOR","role":"EMSP","name":"Forte (Finland)"}]')


@pytest.fixture
def three_hubs(tmp_path: Path) -> Iterator[tuple[HubProcess, HubProcess, HubProcess]]:
    schemas: list[str] = []

    def env(name: str) -> dict[str, str]:
        if not PG_URL:
            return {}
        from hub.cli.pg import create_schema

        schema = f"e2e3_{name}_{uuid.uuid4().hex[:8]}"
        create_schema(PG_URL, schema)
        schemas.append(schema)
        return {"HUB_DATABASE_URL": PG_URL, "HUB_DATABASE_SCHEMA": schema}

    hubs = (HubProcess("lv", tmp_path, extra_env=env("lv")),
            HubProcess("ee", tmp_path, parties_json=EE_PARTIES, extra_env=env("ee")),
            HubProcess("fi", tmp_path, parties_json=FI_PARTIES, extra_env=env("fi")))
    try:
        for hub in hubs:
            hub.cli("db", "upgrade")
            hub.cli("db", "seed-demo")
            hub.start()
        yield hubs
    finally:
        for hub in hubs:
            hub.stop()
        if PG_URL:
            from hub.cli.pg import drop_schema

            for schema in schemas:
                drop_schema(PG_URL, schema)


def _register(us: HubProcess, partner: HubProcess, name: str) -> None:
    issued = partner.cli("partners", "issue-token", "--name", name).stdout
    token_a = issued.split("token A: ")[1].split()[0]
    us.cli("partners", "register", "--versions-url", f"{partner.url}/ocpi/versions",
           "--token", token_a)


async def _charge(url: str, station: str, id_tag: str, connector: int, kwh: int) -> None:
    async with SimulatedStation(url, station, DEMO_STATION_PASSWORD) as st:
        await st.boot()
        assert await st.authorize(id_tag) == "Accepted"
        tx, status = await st.start_transaction(connector, id_tag, 1000)
        assert status == "Accepted"
        await st.meter_values(connector, tx, 1000 + kwh * 500)
        await st.stop_transaction(tx, 1000 + kwh * 1000, id_tag)


def _received(hub: HubProcess, count: int) -> Any:
    return _wait(lambda: (lambda c: c if len(c) >= count else None)(
        hub.admin("/cdrs?source=received").json()), f"{count} CDR(s) at {hub.name}")


async def test_each_driver_charges_abroad_and_each_cdr_reaches_its_emsp(
    three_hubs: tuple[HubProcess, HubProcess, HubProcess],
) -> None:
    lv, ee, fi = three_hubs
    _register(lv, ee, "Latvian network")
    _register(lv, fi, "Latvian network")
    partners = lv.admin("/partners").json()
    assert len(partners) == 2 and all(p["status"] == "CONNECTED" for p in partners)

    # A Finnish and an Estonian driver at the Latvian stations: real-time authorization asks
    # the platforms we know (neither token was pushed to us), the CDR goes to the owner only.
    await _charge(lv.ocpp_url, DEMO_STATIONS[0], demo_token_uid("FI", "FOR"), 1, 12)
    await _charge(lv.ocpp_url, DEMO_STATIONS[1], demo_token_uid("EE", "ELM"), 1, 20)
    [fi_cdr] = _received(fi, 1)
    [ee_cdr] = _received(ee, 1)
    assert fi_cdr["emsp"].startswith("FI*FOR") and fi_cdr["cpo"].startswith("LV*BIM")
    assert Decimal(fi_cdr["total_energy"]) == 12
    assert fi_cdr["total_cost_incl_vat"] == "5.57"  # (12 x 0.30 + 1.00) x 1.21 = 5.566
    assert ee_cdr["emsp"].startswith("EE*ELM") and Decimal(ee_cdr["total_energy"]) == 20

    # A Latvian driver at the Finnish platform's station: the other direction, FI as CPO.
    await _charge(fi.ocpp_url, DEMO_STATIONS[0], demo_token_uid("LV", "BIE"), 2, 8)
    [lv_cdr] = _received(lv, 1)
    assert lv_cdr["cpo"].startswith("FI*FOR") and lv_cdr["emsp"].startswith("LV*BIE")
    assert Decimal(lv_cdr["total_energy"]) == 8
    _wait(lambda: all(m["status"] == "DELIVERED" for h in (lv, fi)
                      for m in h.admin("/outbox").json()), "every outbox delivered")
    # Nothing crossed to a platform that does not own the token.
    assert len(ee.admin("/cdrs?source=received").json()) == 1
    assert len(fi.admin("/cdrs?source=received").json()) == 1
    assert len(lv.admin("/cdrs?source=received").json()) == 1
