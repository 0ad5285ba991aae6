"""Rate limits per partner: a token bucket per platform, HTTP 429 with Retry-After over it."""

from __future__ import annotations

import asyncio

from ocpi.ratelimit import RateLimiter
from tests.ocpi.conftest import fake_partner, ocpi_call


def test_bucket_allows_bursts_then_the_average_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(per_second=2, burst=3, clock=lambda: now[0])
    assert [limiter.wait_for(1) for _ in range(3)] == [0, 0, 0]
    assert limiter.wait_for(1) == 0.5  # empty: one token refills in 1/2 s
    assert limiter.wait_for(2) == 0  # other partners have their own bucket
    now[0] += 0.5
    assert limiter.wait_for(1) == 0
    now[0] += 60  # refills up to the burst, not beyond
    assert [limiter.wait_for(1) for _ in range(4)] == [0, 0, 0, 0.5]
    assert RateLimiter(per_second=0, burst=0).wait_for(1) == 0  # switched off


async def test_partner_over_its_rate_gets_429_others_do_not(make_settings, start_hub) -> None:
    settings = await asyncio.to_thread(
        make_settings, ocpi={"rate_limit_per_second": 0.01, "rate_limit_burst": 3})
    hub = await start_hub(settings)
    _, noisy = await fake_partner(hub, [("EE", "ELM", "EMSP")])
    _, quiet = await fake_partner(hub, [("FI", "FOR", "EMSP")])
    url = f"{hub.url}/ocpi/cpo/2.2.1/locations"
    answers = [await ocpi_call("GET", url, noisy) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status_code"] == 2000
    assert "rate limit exceeded" in refused.json()["status_message"]
    assert (await ocpi_call("GET", url, quiet)).status_code == 200


async def test_cached_caller_is_dropped_when_its_partner_changes(lv_hub) -> None:
    """The caller cache never outlives a committed change to partners (here: suspended by a
    Core UPDATE, as the still-alive check does)."""
    from sqlalchemy import update

    from hub.db.base import transaction
    from hub.db.models import PartnerRow

    partner_id, token = await fake_partner(lv_hub, [("EE", "ELM", "EMSP")])
    url = f"{lv_hub.url}/ocpi/cpo/2.2.1/locations"
    assert (await ocpi_call("GET", url, token)).status_code == 200
    assert (await ocpi_call("GET", url, token)).status_code == 200  # served from the cache
    async with transaction(lv_hub.ctx.sessionmaker) as session:
        await session.execute(update(PartnerRow).where(PartnerRow.id == partner_id)
                              .values(status="SUSPENDED"))
    assert (await ocpi_call("GET", url, token)).status_code == 401
