"""PLACEHOLDER: replaced by the OCPP 1.6J server."""

from __future__ import annotations

from hub.context import HubContext


class OcppServer:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.port = ctx.settings.ocpp.port

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
