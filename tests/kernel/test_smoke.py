from __future__ import annotations

import httpx

from hub.settings import Settings


async def test_hub_starts_and_serves_admin_health(settings: Settings, start_hub) -> None:
    hub = await start_hub(settings)
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{hub.url}/admin/health")
    assert r.status_code == 200
    assert r.json()["outbox"] == {"pending": 0, "dead": 0}
