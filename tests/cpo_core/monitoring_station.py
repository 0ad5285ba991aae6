"""A test station that answers the central system's commands and records them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection, connect
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from cpo_core.base import OcppChargePoint


class CommandedStation(OcppChargePoint):
    """Answers Reset, TriggerMessage, Remote Start/Stop and ChangeConfiguration; ``hang``
    makes it stop answering (an unresponsive station)."""

    def __init__(self, station_id: str, ws: ClientConnection) -> None:
        super().__init__(station_id, ws, response_timeout=10)
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.hang = False

    async def _maybe_hang(self) -> None:
        if self.hang:
            await asyncio.Event().wait()

    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        await self._maybe_hang()
        self.commands.append(("Reset", {"type": type}))
        return call_result.Reset(status="Accepted")

    @on(Action.trigger_message)
    async def on_trigger(self, requested_message: str, **kw: Any) -> call_result.TriggerMessage:
        await self._maybe_hang()
        self.commands.append(("TriggerMessage", {"requested_message": requested_message}))
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, **kw: Any
                              ) -> call_result.RemoteStartTransaction:
        self.commands.append(("RemoteStartTransaction", {"id_tag": id_tag, **kw}))
        return call_result.RemoteStartTransaction(status="Accepted")

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        self.commands.append(("RemoteStopTransaction", {"transaction_id": transaction_id}))
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str
                                      ) -> call_result.ChangeConfiguration:
        self.commands.append(("ChangeConfiguration", {"key": key, "value": value}))
        return call_result.ChangeConfiguration(status="Accepted")

    def names(self, action: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.commands if name == action]

    async def boot(self, vendor: str = "HubSim", model: str = "Sim-2") -> Any:
        return await self.call(call.BootNotification(charge_point_vendor=vendor,
                                                     charge_point_model=model))


@contextlib.asynccontextmanager
async def commanded_station(base_url: str, station_id: str, password: str | None):
    headers = {}
    if password is not None:
        headers["Authorization"] = build_authorization_basic(station_id, password)
    async with connect(f"{base_url}/{station_id}", subprotocols=[Subprotocol("ocpp1.6")],
                       additional_headers=headers, compression=None) as ws:
        cp = CommandedStation(station_id, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
