"""PLACEHOLDER: real-time authorization with eMSPs over OCPI."""

from __future__ import annotations

from hub.context import HubContext
from hub.domain import AuthorizationResult, PartyRef


class OcpiRemoteAuthorizer:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    async def authorize(self, token_uid: str, token_type: str | None, location_id: str | None,
                        owner: PartyRef | None) -> AuthorizationResult | None:
        return None
