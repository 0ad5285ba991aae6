"""`hub demo`: the walking skeleton's whole journey with real processes on loopback.

1. Two hubs: ours (CPO LV*BIM + eMSP LV*BIE) and the Estonian partner (eMSP EE*ELM), each with
   its own database (SQLite in a temporary directory; PostgreSQL schemas when HUB_DATABASE_URL
   points to PostgreSQL).
2. The real OCPI credentials handshake: the partner issues a token A, we register with it.
3. A simulated OCPP 1.6 station in Riga; the Estonian driver's token is authorised in real time
   with its eMSP, charges 20 kWh; the session and the CDR are pushed to the partner.
4. Prints the CDR the partner received and our clearing report for the month.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.cli.common import console
from hub.cli.pg import acreate_schema, adrop_schema
from hub.cli.processes import HubProcess
from hub.seed import DEMO_STATION_PASSWORD, DEMO_STATIONS, demo_token_uid

EE_PARTIES = '[{"country_code":"EE","party_id":"ELM","role":"EMSP","name":"Elmo (Estonia)"}]'


async def _pg_schemas(names: list[str]) -> dict[str, dict[str, str]]:
    """With HUB_DATABASE_URL on PostgreSQL, one fresh schema per demo hub."""
    url = os.environ.get("HUB_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return {n: {} for n in names}
    out = {}
    for n in names:
        schema = f"demo_{n}_{uuid.uuid4().hex[:8]}"
        await acreate_schema(url, schema)
        out[n] = {"HUB_DATABASE_URL": url, "HUB_DATABASE_SCHEMA": schema}
    return out


async def _drop_schemas(envs: dict[str, dict[str, str]]) -> None:
    for env in envs.values():
        if env:
            await adrop_schema(env["HUB_DATABASE_URL"], env["HUB_DATABASE_SCHEMA"])


def _wait_for_cdr(ee: HubProcess, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = ee.admin("/cdrs?source=received")
        if r.status_code == 200 and r.json():
            cdr: dict[str, object] = r.json()[0]
            return cdr
        time.sleep(0.3)
    raise RuntimeError("the partner did not receive the CDR in time")


async def run_demo(*, keep: bool = False) -> int:
    from cpo_core.simulator import SimulatedStation

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="hub-demo-"))
    envs = await _pg_schemas(["lv", "ee"])
    lv = HubProcess("lv", workdir, extra_env=envs["lv"])
    ee = HubProcess("ee", workdir, parties_json=EE_PARTIES, extra_env=envs["ee"])
    try:
        for hub in (lv, ee):
            hub.cli("db", "upgrade")
            hub.cli("db", "seed-demo")
            hub.start()
        console(f"[demo] our hub {lv.url} (OCPP {lv.ocpp_url}); Estonian eMSP hub {ee.url}")
        issued = ee.cli("partners", "issue-token", "--name", "Latvian network").stdout
        token_a = issued.split("token A: ")[1].split()[0]
        reg = lv.cli("partners", "register", "--versions-url", f"{ee.url}/ocpi/versions",
                     "--token", token_a)
        console(f"[demo] credentials handshake: {reg.stdout.strip()}")
        id_tag = demo_token_uid("EE", "ELM")
        async with SimulatedStation(lv.ocpp_url, DEMO_STATIONS[0], DEMO_STATION_PASSWORD) as st:
            tx = await st.charge(1, id_tag, Decimal(20))
        console(f"[demo] station {DEMO_STATIONS[0]} charged 20 kWh for the Estonian driver "
                f"(transaction {tx})")
        cdr = await asyncio.to_thread(_wait_for_cdr, ee)
        console("[demo] CDR received by the Estonian partner:")
        console(json.dumps(cdr, indent=2, default=str))
        period = datetime.now(UTC).astimezone(ZoneInfo("Europe/Riga")).strftime("%Y-%m")
        report = lv.cli("clearing", "report", "--period", period).stdout
        console(f"[demo] our clearing report for {period}:")
        console(report.rstrip())
        console(f"[demo] done in {time.monotonic() - started:.1f}s")
        return 0
    except Exception as exc:
        console(f"[demo] FAILED: {exc}")
        for hub in (lv, ee):
            console(f"--- {hub.name} log ---\n{hub.log()}")
        return 1
    finally:
        for hub in (lv, ee):
            hub.stop()
        await _drop_schemas(envs)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console(f"[demo] working directory kept: {workdir}")
