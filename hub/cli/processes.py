"""Real hub processes on loopback, for `hub demo` and the end-to-end tests."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

_WORKER_BLOCK = 1500  # ports per parallel test worker
_next_offset = itertools.count()


def free_port() -> int:
    """A loopback port nobody listens on, for a server about to start.

    Under pytest-xdist each worker draws from its own block below the kernel's ephemeral range
    (20000 + 1500 x worker), so two workers can never be handed the same port between choosing
    it and binding it (with port 0, the kernel may give a just-released port to another
    worker); elsewhere the kernel picks.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    base = 20000 + _WORKER_BLOCK * int(worker[2:] or 0)
    for _ in range(_WORKER_BLOCK):
        port = base + next(_next_offset) % _WORKER_BLOCK
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this worker's block")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG),
    so a killed `hub demo` or test run leaves no `hub serve` holding ports and databases.
    Start children from a thread that lives as long as they should (here: the main thread)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class HubProcess:
    """One `hub` with its own data directory, ports and parties, driven through the CLI."""

    def __init__(self, name: str, workdir: Path, *, parties_json: str | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.name = name
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        self.ocpp_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update({
            "HUB_DATA_DIR": str(self.workdir),
            "HUB_HTTP__PORT": str(self.http_port),
            "HUB_OCPP__PORT": str(self.ocpp_port),
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_OUTBOX__BACKOFF_BASE_SECONDS": "0.5",
            "HUB_OUTBOX__BACKOFF_MAX_SECONDS": "2",
            "HUB_OUTBOX__POLL_INTERVAL_SECONDS": "0.3",
        })
        if parties_json:
            env["HUB_PARTIES"] = parties_json
        env.update(extra_env or {})
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "hub", *args], env=self.env,
                                capture_output=True, text=True, timeout=120, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{self.name}: hub {' '.join(args[:2])} failed:\n"
                               f"{result.stdout}\n{result.stderr}")
        return result

    def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log()}")
            try:
                httpx.get(f"{self.url}/ocpi/versions", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def admin(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}/admin{path}", timeout=10.0)
