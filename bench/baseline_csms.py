"""Baseline for bench/ocpp_load.py: an OCPP 1.6 central system on the same library
(ocpp + websockets) that keeps everything in memory: no database, no auth, no outbox.

Run: python bench/baseline_csms.py PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from datetime import UTC, datetime
from typing import Any

import ocpp.messages
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from websockets.asyncio.server import ServerConnection, serve

ocpp.messages.ASYNC_VALIDATION = False  # same setting as the hub (PROTOCOL_NOTES, OCPP)
_tx = itertools.count(1)
STATE: dict[str, dict[str, Any]] = {}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class MemoryCP(ChargePoint):
    @on("BootNotification")
    async def boot(self, **kw: Any) -> call_result.BootNotification:
        STATE.setdefault(self.id, {})["boot"] = kw
        return call_result.BootNotification(current_time=_now(), interval=300,
                                            status="Accepted")

    @on("Heartbeat")
    async def heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    async def status(self, **kw: Any) -> call_result.StatusNotification:
        STATE.setdefault(self.id, {})["status"] = kw
        return call_result.StatusNotification()

    @on("Authorize")
    async def authorize(self, id_tag: str) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    async def start_tx(self, **kw: Any) -> call_result.StartTransaction:
        tx = next(_tx)
        STATE.setdefault(self.id, {})[f"tx{tx}"] = kw
        return call_result.StartTransaction(transaction_id=tx,
                                            id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    async def meter(self, **kw: Any) -> call_result.MeterValues:
        STATE.setdefault(self.id, {}).setdefault("meter", []).append(kw)
        return call_result.MeterValues()

    @on("StopTransaction")
    async def stop_tx(self, **kw: Any) -> call_result.StopTransaction:
        STATE.setdefault(self.id, {})["stop"] = kw
        return call_result.StopTransaction(id_tag_info={"status": "Accepted"})


async def handler(conn: ServerConnection) -> None:
    assert conn.request is not None
    station_id = conn.request.path.rstrip("/").split("/")[-1]
    with contextlib.suppress(Exception):  # a closed socket ends the station; nothing to keep
        await MemoryCP(station_id, conn).start()


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                     compression=None, ping_interval=None, max_queue=64) as server:
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
