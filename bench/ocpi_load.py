"""Benchmark of the OCPI hub (issue 5 item 11), real processes on loopback:

    python bench/ocpi_load.py [--db sqlite|postgres] [--requests 300] [--locations 5000]
                              [--receivers 50] [--rounds 5]

- the hub (``hub serve``, own party with the HUB role), a CPO platform (another ``hub serve``
  with the demo network: party EE*EVC) registered with it through the credentials handshake,
  and a peers process (``bench/ocpi_peers.py``) with N Receivers and an in-memory Sender;
- (a) the same GET of one location from the CPO, direct and routed through the hub (OCPI-to =
  EE*EVC), interleaved; p50 and p99 of each and the ratio routed/direct (target <= 1.3 at p50),
  and the CPU time (user + system, Linux ``/proc``) of the hub process per routed request and
  of the CPO process per request served (both include their background jobs, e.g. outbox polls);
- (b) GET all locations through the hub (OCPI-to = the hub) from its store of ``--locations``
  partner locations with 4 EVSEs each, pages of 100 following ``Link``; p50/p99 per page
  (target p50 < 25 ms on SQLite) and the ratio to the same number of pages of the same size
  served from memory by the peers process;
- (c) one EVSE status PATCH pushed by a CPO to the hub and broadcast to ``--receivers`` eMSPs
  through the outbox; time until all have it (target <= 1 s), and the ratio to the bench itself
  sending the same PUTs to the same receivers concurrently.

Rate limits are switched off for the run (``HUB_OCPI__RATE_LIMIT_PER_SECOND=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.cli.processes import HubProcess, free_port

# The hub runs the Latvian network's CPO and eMSP beside its HUB role, as in production.
HUB_PARTIES = ('[{"country_code":"LV","party_id":"BIM","role":"CPO","name":"LV network"},'
               '{"country_code":"LV","party_id":"BIE","role":"EMSP","name":"LV network"},'
               '{"country_code":"LV","party_id":"HUB","role":"HUB","name":"Baltic roaming hub"}]')
# The CPO platform behind the hub (a second `hub serve` with the demo network).
ROUTED_CPO = ("EE", "EVC")
ROUTED_CPO_PARTIES = ('[{"country_code":"EE","party_id":"EVC","role":"CPO",'
                      '"name":"Estonian CPO"}]')
CPO_PARTY = ("FI", "FOR")  # owner of the stored locations and the broadcast pushes
EMSP_PARTY = ("EE", "ELM")  # the client of (a) and (b)
EVSES_PER_LOCATION = 4
PAGE = 100


def _location(i: int, stamp: datetime) -> dict[str, Any]:
    lid = f"L{i:05d}"
    ts = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "country_code": CPO_PARTY[0], "party_id": CPO_PARTY[1], "id": lid, "publish": True,
        "name": f"Site {i}", "address": f"Street {i}", "city": "Helsinki",
        "postal_code": "00100", "country": "FIN",
        "coordinates": {"latitude": f"60.{i % 100000:05d}", "longitude": "24.93545"},
        "time_zone": "Europe/Helsinki", "last_updated": ts,
        "evses": [{
            "uid": f"{lid}-{e}", "evse_id": f"FI*FOR*E{i:05d}{e}", "status": "AVAILABLE",
            "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
            "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                            "power_type": "AC_3_PHASE", "max_voltage": 230,
                            "max_amperage": 32, "max_electric_power": 22080,
                            "last_updated": ts}],
            "last_updated": ts} for e in range(1, EVSES_PER_LOCATION + 1)],
    }


# -- setup mode: runs in a subprocess with a hub's environment, before that hub starts -------


async def _fake_partner(session: Any, name: str, parties: list[tuple[str, str, str]],
                        endpoints: list[dict[str, str]]) -> tuple[int, str]:
    from hub.db.models import PartnerRow
    from hub.domain import PartyRef
    from hub.security import new_token, token_hash
    from hub.services.parties import upsert_partner_party

    token = new_token()
    row = PartnerRow(name=name, status="CONNECTED", token_in_hash=token_hash(token),
                     token_out=new_token(), endpoints=endpoints, version="2.2.1")
    session.add(row)
    await session.flush()
    for cc, pid, role in parties:
        await upsert_partner_party(session, PartyRef(cc, pid, role), row.id, name)
    return row.id, token


async def _setup(kind: str, locations: int, receivers: int, peers_url: str) -> dict[str, Any]:
    from hub.db.base import make_engine, make_sessionmaker, transaction
    from hub.domain import PartyRef
    from hub.services.parties import ensure_own_parties
    from hub.settings import Settings
    from ocpi.object_store import save_partner_location

    settings = Settings()
    engine = make_engine(settings)
    out: dict[str, Any] = {}
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await ensure_own_parties(session, settings)
            _, out["emsp_token"] = await _fake_partner(
                session, "bench eMSP", [(*EMSP_PARTY, "EMSP")], [])
            if kind != "hub":
                return out
            cpo_id, out["cpo_token"] = await _fake_partner(
                session, "bench CPO", [(*CPO_PARTY, "CPO")], [])
            for r in range(receivers):
                await _fake_partner(session, f"receiver {r}", [("SE", f"R{r:02d}", "EMSP")], [
                    {"identifier": "locations", "role": "RECEIVER",
                     "url": f"{peers_url}/r{r}/ocpi/emsp/2.2.1/locations"}])
            stamp = datetime(2026, 11, 1, tzinfo=UTC)
            cpo = PartyRef(*CPO_PARTY, "CPO")
            for i in range(locations):
                await save_partner_location(session, cpo, _location(i, stamp),
                                            stamp + timedelta(seconds=i), cpo_id)
    finally:
        await engine.dispose()
    return out


# -- the run ----------------------------------------------------------------------------------


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def _headers(token: str, to: tuple[str, str] | None) -> dict[str, str]:
    import base64

    h = {"Authorization": "Token " + base64.b64encode(token.encode()).decode(),
         "X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4()),
         "OCPI-from-country-code": EMSP_PARTY[0], "OCPI-from-party-id": EMSP_PARTY[1]}
    if to:
        h.update({"OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]})
    return h


async def _timed(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> float:
    t0 = time.perf_counter()
    r = await client.request(method, url, **kw)
    elapsed = time.perf_counter() - t0
    if r.status_code >= 300 or (r.headers.get("content-type", "").startswith("application/json")
                                and r.json().get("status_code", 1000) >= 2000):
        raise RuntimeError(f"{method} {url}: HTTP {r.status_code} {r.text[:300]}")
    return elapsed


async def bench_routed(hub: HubProcess, cpo: HubProcess, tokens: dict[str, Any],
                       requests: int) -> dict[str, float]:
    path = "/ocpi/cpo/2.2.1/locations/RIGA-001"
    direct, routed = [], []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(20):  # warm up both paths
            await _timed(client, "GET", cpo.url + path,
                         headers=_headers(tokens["direct"], None))
            await _timed(client, "GET", hub.url + path,
                         headers=_headers(tokens["emsp_token"], ROUTED_CPO))
        for _ in range(requests):
            direct.append(await _timed(client, "GET", cpo.url + path,
                                       headers=_headers(tokens["direct"], None)))
            routed.append(await _timed(client, "GET", hub.url + path,
                                       headers=_headers(tokens["emsp_token"], ROUTED_CPO)))
    (d50, d99), (r50, r99) = _stats(direct), _stats(routed)
    return {"direct_p50_ms": d50 * 1e3, "direct_p99_ms": d99 * 1e3, "routed_p50_ms": r50 * 1e3,
            "routed_p99_ms": r99 * 1e3, "ratio_p50": r50 / d50, "ratio_p99": r99 / d99}


async def bench_get_all(hub: HubProcess, peers_url: str, tokens: dict[str, Any],
                        rounds: int) -> dict[str, float]:
    pages: list[float] = []
    baseline: list[float] = []
    evses = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(rounds):
            url: str | None = f"{hub.url}/ocpi/cpo/2.2.1/locations?limit={PAGE}"
            evses = 0
            while url:
                t0 = time.perf_counter()
                r = await client.get(url, headers=_headers(tokens["emsp_token"], ("LV", "HUB")))
                pages.append(time.perf_counter() - t0)
                body = r.json()
                if r.status_code != 200 or body.get("status_code") != 1000:
                    raise RuntimeError(f"GET all: HTTP {r.status_code} {r.text[:300]}")
                evses += sum(len(loc.get("evses", [])) for loc in body["data"])
                link = r.headers.get("link", "")
                url = link.split(";")[0].strip("<> ") if 'rel="next"' in link else None
            for n in range(len(pages) // rounds):
                baseline.append(await _timed(client, "GET", f"{peers_url}/page/{n}"))
    (p50, p99), (b50, _) = _stats(pages), _stats(baseline)
    return {"pages": len(pages) / rounds, "evses": evses, "page_p50_ms": p50 * 1e3,
            "page_p99_ms": p99 * 1e3, "baseline_p50_ms": b50 * 1e3, "ratio_p50": p50 / b50}


async def _wait_count(client: httpx.AsyncClient, peers_url: str, count: int) -> float:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = (await client.get(f"{peers_url}/stats")).json()
        if stats["count"] >= count:
            return float(stats["last"])
        await asyncio.sleep(0.005)
    raise RuntimeError(f"only {stats['count']} of {count} receivers got the push")


async def bench_broadcast(hub: HubProcess, peers_url: str, tokens: dict[str, Any],
                          receivers: int, rounds: int) -> dict[str, float]:
    took: list[float] = []
    baseline: list[float] = []
    cc, pid = CPO_PARTY
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(rounds):
            await client.post(f"{peers_url}/reset")
            status = "CHARGING" if n % 2 == 0 else "AVAILABLE"
            body = {"status": status, "last_updated":
                    (datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
            headers = _headers(tokens["cpo_token"], ("LV", "HUB"))
            headers.update({"OCPI-from-country-code": cc, "OCPI-from-party-id": pid})
            url = f"{hub.url}/ocpi/emsp/2.2.1/locations/{cc}/{pid}/L00001/L00001-1"
            sent = time.time()
            await _timed(client, "PATCH", url, json=body, headers=headers)
            took.append(await _wait_count(client, peers_url, receivers) - sent)
            await client.post(f"{peers_url}/reset")
            sent = time.time()
            await asyncio.gather(*(client.patch(
                f"{peers_url}/r{r}/ocpi/emsp/2.2.1/locations/{cc}/{pid}/L00001/L00001-1",
                json=body) for r in range(receivers)))
            baseline.append(await _wait_count(client, peers_url, receivers) - sent)
    t50, tmax = statistics.median(took), max(took)
    b50 = statistics.median(baseline)
    return {"all_delivered_p50_s": t50, "all_delivered_max_s": tmax,
            "baseline_p50_s": b50, "ratio_p50": t50 / b50}


def _run_setup(hub: HubProcess, kind: str, args: argparse.Namespace, peers_url: str
               ) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--setup", kind, "--locations", str(args.locations),
         "--receivers", str(args.receivers), "--peers-url", peers_url],
        env=hub.env, capture_output=True, text=True, check=False, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"setup {kind} failed:\n{result.stdout}\n{result.stderr}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-ocpi-"))
    env = {"HUB_OCPI__RATE_LIMIT_PER_SECOND": "0", "HUB_OCPI__PUSH_INTERVAL_SECONDS": "0",
           "HUB_OUTBOX__POLL_INTERVAL_SECONDS": "0.05", "HUB_LOG_LEVEL": "WARNING"}
    cleanup: list[tuple[str, str]] = []
    if args.db == "postgres":
        from hub.cli.pg import create_schema

        url = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1/postgres")
        for name in ("hub", "cpo"):
            schema = f"bench_ocpi_{name}_{uuid.uuid4().hex[:8]}"
            create_schema(url, schema)
            cleanup.append((url, schema))
    hub = HubProcess("hub", workdir, parties_json=HUB_PARTIES, extra_env={
        **env, **({"HUB_DATABASE_URL": cleanup[0][0], "HUB_DATABASE_SCHEMA": cleanup[0][1]}
                  if cleanup else {})})
    cpo = HubProcess("cpo", workdir, parties_json=ROUTED_CPO_PARTIES, extra_env={
        **env, **({"HUB_DATABASE_URL": cleanup[1][0], "HUB_DATABASE_SCHEMA": cleanup[1][1]}
                  if cleanup else {})})
    peers_port = free_port()
    peers_url = f"http://127.0.0.1:{peers_port}"
    pages_file = workdir / "pages.json"
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    n_pages = max(1, args.locations // PAGE)
    pages_file.write_text(json.dumps([[_location(p * PAGE + i, stamp) for i in range(PAGE)]
                                      for p in range(min(n_pages, 50))]))
    peers = subprocess.Popen([sys.executable, str(Path(__file__).parent / "ocpi_peers.py"),
                              "--port", str(peers_port), "--pages", str(pages_file)])
    try:
        print(f"setting up: {args.locations} locations x {EVSES_PER_LOCATION} EVSEs, "
              f"{args.receivers} receivers, database {args.db}", flush=True)
        for h in (hub, cpo):
            h.cli("db", "upgrade")
        cpo.cli("db", "seed-demo")
        tokens = _run_setup(hub, "hub", args, peers_url)
        tokens["direct"] = _run_setup(cpo, "direct", args, peers_url)["emsp_token"]
        cpo.start()
        hub.start()
        issued = cpo.cli("partners", "issue-token", "--name", "Baltic roaming hub").stdout
        hub.cli("partners", "register", "--versions-url", f"{cpo.url}/ocpi/versions",
                "--token", issued.split("token A: ")[1].split()[0])
        for _ in range(100):
            try:
                httpx.get(f"{peers_url}/stats", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)

        pids = [h.proc.pid if h.proc else None for h in (hub, cpo)]
        before = [_cpu_seconds(pid) for pid in pids]
        a = asyncio.run(bench_routed(hub, cpo, tokens, args.requests))
        after = [_cpu_seconds(pid) for pid in pids]
        cpu = ""
        if None not in before and None not in after:
            n = args.requests + 20  # with the warm-up
            hub_ms = (after[0] - before[0]) * 1e3 / n  # type: ignore[operator]
            cpo_ms = (after[1] - before[1]) * 1e3 / (2 * n)  # type: ignore[operator]
            cpu = f"; CPU per request: hub {hub_ms:.2f} ms (routed), CPO {cpo_ms:.2f} ms"
        print(f"(a) GET one location, {args.requests} each: direct p50 "
              f"{a['direct_p50_ms']:.1f} ms p99 {a['direct_p99_ms']:.1f} ms; routed p50 "
              f"{a['routed_p50_ms']:.1f} ms p99 {a['routed_p99_ms']:.1f} ms; ratio routed/direct "
              f"p50 {a['ratio_p50']:.2f} (target <= 1.3), p99 {a['ratio_p99']:.2f}{cpu}",
              flush=True)
        b = asyncio.run(bench_get_all(hub, peers_url, tokens, args.rounds))
        print(f"(b) GET all via the hub: {b['pages']:.0f} pages of {PAGE}, {b['evses']} EVSEs; "
              f"page p50 {b['page_p50_ms']:.1f} ms (target < 25 ms) p99 {b['page_p99_ms']:.1f}"
              f" ms; in-memory baseline p50 {b['baseline_p50_ms']:.1f} ms; ratio "
              f"{b['ratio_p50']:.2f}", flush=True)
        c = asyncio.run(bench_broadcast(hub, peers_url, tokens, args.receivers, args.rounds))
        print(f"(c) EVSE status broadcast to {args.receivers} receivers: all delivered p50 "
              f"{c['all_delivered_p50_s'] * 1e3:.0f} ms, max {c['all_delivered_max_s'] * 1e3:.0f}"
              f" ms (target <= 1000 ms); direct fan-out baseline p50 "
              f"{c['baseline_p50_s'] * 1e3:.0f} ms; ratio {c['ratio_p50']:.2f}", flush=True)
    finally:
        hub.stop()
        cpo.stop()
        peers.terminate()
        peers.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        if cleanup:
            from hub.cli.pg import drop_schema

            for url, schema in cleanup:
                drop_schema(url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--locations", type=int, default=5000)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--setup", choices=["hub", "direct"], help=argparse.SUPPRESS)
    parser.add_argument("--peers-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(asyncio.run(_setup(args.setup, args.locations, args.receivers,
                                            args.peers_url))))
        return
    run(args)


if __name__ == "__main__":
    main()
