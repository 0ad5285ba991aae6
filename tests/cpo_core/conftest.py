from __future__ import annotations

import pytest

from hub.context import HubContext


@pytest.fixture
def ocpp_url(hub_ctx: HubContext) -> str:
    return f"ws://127.0.0.1:{hub_ctx.settings.ocpp.port}/ocpp"
