"""OCPP 1.6 load: N stations boot in a storm, then each runs one charging session.

The same load runs, in one invocation, against
  - the hub (`hub serve`, its real database: SQLite file or PostgreSQL), and
  - a baseline central system on the same library that keeps everything in memory
    (bench/baseline_csms.py),
each in its own process so that its peak RSS can be read from /proc. The load generator speaks
raw OCPP-J frames over `websockets` (lighter than a second `ocpp` stack, identical for both).

Prints calls/s, p50/p99 latency, failed calls, peak RSS and the ratio hub/baseline.

  python bench/ocpp_load.py --stations 10000 [--db sqlite|postgres] [--meter-values 3]
                            [--tokens shared|per-station]
Targets (issue 3): 10,000 stations, zero failed calls, hub >= 0.8 x baseline, RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
ID_TAG = "LVBIE0000000001"  # the demo network's own token (hub db seed-demo)
# --tokens per-station: station i's driver has a card of their own (bench/provision_stations.py
# makes them, in both servers' runs the same uids), so the hub reads each token once.
PER_STATION_TAG = "LVBT{:010d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (load-independent cost of the server)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.failed += 1
        self.errors[why] = self.errors.get(why, 0) + 1


class Station:
    """A raw OCPP-J 1.6 client: one call at a time, as a real station does."""

    def __init__(self, ws: ClientConnection, stats: Stats, id_tag: str = ID_TAG) -> None:
        self.ws = ws
        self.stats = stats
        self.ids = itertools.count(1)
        self.id_tag = id_tag

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        uid = str(next(self.ids))
        t0 = time.perf_counter()
        await self.ws.send(json.dumps([2, uid, action, payload]))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=120))
            if reply[0] == 2:  # a call from the central system: acknowledge generically
                await self.ws.send(json.dumps([3, reply[1], {"status": "Accepted"}]))
                continue
            break
        self.stats.latencies.append(time.perf_counter() - t0)
        if reply[0] != 3 or reply[1] != uid:
            self.stats.fail(f"{action}:{reply[2] if reply[0] == 4 else 'bad reply'}")
            return None
        result: dict[str, Any] = reply[2]
        return result


def ts(offset_s: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")


async def boot(st: Station) -> bool:
    for _ in range(20):
        r = await st.call("BootNotification", {"chargePointVendor": "Bench",
                                               "chargePointModel": "Load-1"})
        if r is None:
            return False
        if r.get("status") == "Accepted":
            return True
        await asyncio.sleep(min(float(r.get("interval", 1)), 5.0))  # Pending: come back later
    st.stats.fail("BootNotification:never accepted")
    return False


async def session(st: Station, meter_values: int) -> None:
    await st.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                         "status": "Preparing"})
    await st.call("Authorize", {"idTag": st.id_tag})
    r = await st.call("StartTransaction", {"connectorId": 1, "idTag": st.id_tag,
                                           "meterStart": 0, "timestamp": ts(-1800)})
    if r is None:
        return
    tx = r["transactionId"]
    for i in range(1, meter_values + 1):
        await st.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
            {"timestamp": ts(-1800 + i * 300), "sampledValue": [
                {"value": str(i * 3000), "measurand": "Energy.Active.Import.Register",
                 "unit": "Wh"}]}]})
    await st.call("StopTransaction", {"transactionId": tx, "meterStop": 20000,
                                      "timestamp": ts(), "idTag": st.id_tag})
    await st.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                         "status": "Available"})


async def run_load(base_url: str, n: int, meter_values: int, connect_concurrency: int,
                   prefix: str, per_station_tokens: bool = False
                   ) -> tuple[Stats, float, int]:
    """Stations ``{prefix}-0`` .. ``{prefix}-{n-1}`` connect, boot and charge once each."""
    stats = Stats()
    sem = asyncio.Semaphore(connect_concurrency)
    stations: list[Station | None] = [None] * n

    async def open_and_boot(i: int) -> None:
        async with sem:
            try:
                ws = await connect(f"{base_url}/{prefix}-{i}", subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                   compression=None, ping_interval=None, open_timeout=120)
            except Exception as exc:
                stats.fail(f"connect:{type(exc).__name__}")
                return
            st = Station(ws, stats, PER_STATION_TAG.format(i) if per_station_tokens else ID_TAG)
            if await boot(st):
                stations[i] = st

    async def charge(st: Station) -> None:
        async with sem:
            try:
                await session(st, meter_values)
            except Exception as exc:
                stats.fail(f"session:{type(exc).__name__}")

    t0 = time.perf_counter()
    await asyncio.gather(*(open_and_boot(i) for i in range(n)))  # the boot storm
    connected = [s for s in stations if s is not None]
    await asyncio.gather(*(charge(s) for s in connected))
    elapsed = time.perf_counter() - t0
    await asyncio.gather(*(s.ws.close() for s in connected), return_exceptions=True)
    return stats, elapsed, len(connected)


# `hub serve` under cProfile; uvicorn re-raises SIGTERM after its shutdown, which would end
# the process before the stats are written: that re-raise is skipped here.
_PROFILED_HUB = """
import cProfile, signal, sys, time
signal.raise_signal = lambda sig: None
out = sys.argv[1]
sys.argv = ["hub", *sys.argv[2:]]
from hub.cli import main
prof = cProfile.Profile(time.process_time)
try:
    prof.runcall(main)
except SystemExit:
    pass
finally:
    prof.dump_stats(out)
"""


def start_hub(db: str, workdir: Path, prefix: str, stations: int, tokens: bool = False
              ) -> tuple[subprocess.Popen[bytes], str, list[str]]:
    http_port, ocpp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(workdir), "HUB_HTTP__PORT": str(http_port),
                "HUB_OCPP__PORT": str(ocpp_port), "HUB_OCPP__AUTO_REGISTER": "true",
                "HUB_LOG_LEVEL": "WARNING",
                "HUB_SCHEDULER_ENABLED": "false"})
    cleanup: list[str] = []
    if db == "postgres":
        url = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1/postgres")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        subprocess.run([sys.executable, "-c", "import sys; from hub.cli.pg import create_schema;"
                        " create_schema(sys.argv[1], sys.argv[2])", url, schema], check=True)
        env.update({"HUB_DATABASE_URL": url, "HUB_DATABASE_SCHEMA": schema})
        cleanup = [url, schema]
    for args in (["db", "upgrade"], ["db", "seed-demo"]):
        subprocess.run([sys.executable, "-m", "hub", *args], env=env, check=True,
                       capture_output=True)
    # The stations are registered beforehand, as in a real network (bench/provision_stations.py).
    # Run from the project root (cwd on sys.path): bench/clearing.py would shadow `clearing`.
    subprocess.run([sys.executable, "-c", "import runpy, sys; sys.argv = sys.argv[1:]; "
                    "runpy.run_path(sys.argv[0], run_name='__main__')",
                    str(ROOT / "bench" / "provision_stations.py"), prefix, str(stations),
                    *(["--tokens"] if tokens else [])],
                   env=env, check=True, capture_output=True, cwd=ROOT)
    log = (workdir / "hub.log").open("wb")
    # BENCH_PROFILE=FILE: the hub runs under cProfile and writes its stats to FILE at exit.
    profile = os.environ.get("BENCH_PROFILE")
    command = ["-c", _PROFILED_HUB, profile] if profile else ["-m", "hub"]
    proc = subprocess.Popen([sys.executable, *command, "serve"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    _wait_port(ocpp_port, proc)
    return proc, f"ws://127.0.0.1:{ocpp_port}/ocpp", cleanup


def start_baseline() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline_csms.py"), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    _wait_port(port, proc)
    return proc, f"ws://127.0.0.1:{port}/ocpp"


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("server exited at start")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def report(name: str, stats: Stats, elapsed: float, connected: int, rss: float,
           cpu: float) -> float:
    lat = sorted(stats.latencies)
    rate = len(lat) / elapsed if elapsed else 0.0
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("nan")
    print(f"{name:<10} stations={connected:<6} calls={len(lat):<7} failed={stats.failed:<5} "
          f"time={elapsed:6.1f}s calls/s={rate:8.1f} p50={p50:7.1f}ms p99={p99:8.1f}ms "
          f"peak_rss={rss:7.1f}MB", flush=True)
    # Server CPU per call during the load (start-up excluded): far less sensitive than calls/s
    # to other work sharing the machine.
    print(f"{'':<10} server cpu={cpu:6.1f}s ({cpu / max(len(lat), 1) * 1e6:6.0f} us/call)",
          flush=True)
    if stats.errors:
        print(f"{'':<10} errors: {stats.errors}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--meter-values", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--connect-concurrency", type=int, default=500)
    parser.add_argument("--tokens", choices=["shared", "per-station"], default="shared",
                        help="one idTag for all stations (the demo token), or a card per station")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.stations + 1024)),
                                                hard))
    per_station = args.tokens == "per-station"
    print(f"OCPP 1.6 load: {args.stations} stations, boot storm then one session each "
          f"({6 + args.meter_values} calls per station), hub on {args.db}, "
          f"{'a token per station' if per_station else 'one shared token'}", flush=True)

    base_proc, base_url = start_baseline()
    try:
        b_cpu0 = cpu_seconds(base_proc.pid)  # start-up (imports) is not the load's cost
        b_stats, b_time, b_conn = asyncio.run(run_load(base_url, args.stations,
                                                       args.meter_values,
                                                       args.connect_concurrency,
                                                       f"BASE-{uuid.uuid4().hex[:6]}",
                                                       per_station))
        b_rss = peak_rss_mb(base_proc.pid)
        b_cpu = cpu_seconds(base_proc.pid) - b_cpu0
    finally:
        base_proc.terminate()
        base_proc.wait()
    b_rate = report("baseline", b_stats, b_time, b_conn, b_rss, b_cpu)

    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        prefix = f"BENCH-{uuid.uuid4().hex[:6]}"
        hub_proc, hub_url, cleanup = start_hub(args.db, Path(tmp), prefix, args.stations,
                                               per_station)
        try:
            h_cpu0 = cpu_seconds(hub_proc.pid)
            h_stats, h_time, h_conn = asyncio.run(run_load(hub_url, args.stations,
                                                           args.meter_values,
                                                           args.connect_concurrency, prefix,
                                                           per_station))
            h_rss = peak_rss_mb(hub_proc.pid)
            h_cpu = cpu_seconds(hub_proc.pid) - h_cpu0
        finally:
            hub_proc.terminate()
            hub_proc.wait()
            if cleanup:
                subprocess.run([sys.executable, "-c", "import sys; from hub.cli.pg import "
                                "drop_schema; drop_schema(sys.argv[1], sys.argv[2])", *cleanup],
                               check=False)
        h_rate = report(f"hub/{args.db}", h_stats, h_time, h_conn, h_rss, h_cpu)
    ratio = h_rate / b_rate if b_rate else float("nan")
    ok = (h_stats.failed == 0 and h_conn == args.stations and ratio >= 0.8 and h_rss < 1024)
    print(f"ratio hub/baseline calls/s = {ratio:.2f} (target >= 0.80); "
          f"hub peak RSS {h_rss:.0f} MB (target < 1024); failed calls {h_stats.failed} "
          f"(target 0) -> {'MET' if ok else 'NOT MET'}", flush=True)


if __name__ == "__main__":
    main()
