"""Rate limits per partner on the OCPI edge (issue 5 item 9).

A token bucket per partner platform: ``HUB_OCPI__RATE_LIMIT_PER_SECOND`` requests per second on
average, bursts up to ``HUB_OCPI__RATE_LIMIT_BURST``; 0 switches the limit off. A request over
the limit is answered before any work with HTTP 429, ``Retry-After`` (whole seconds) and an
OCPI envelope with status 2000: OCPI 2.2.1 defines no status for it (transport_and_format), and
429 is what HTTP clients, our outbox included (ocpi.delivery), already back off on. One bucket
per process: behind several hub processes the limit applies per process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from ocpi.errors import GENERIC_CLIENT_ERROR, OcpiError


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    per_second: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, _Bucket] = field(default_factory=dict)

    def wait_for(self, partner_id: int) -> float:
        """Takes one request from the partner's bucket: 0 when allowed, else seconds to wait."""
        if self.per_second <= 0:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(partner_id)
        if bucket is None:
            bucket = self._buckets[partner_id] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.per_second


def check_rate(request: Request, partner_id: int, per_second: float, burst: int) -> None:
    """Raises HTTP 429 when the partner is over its rate; the limiter lives on the app."""
    limiter: RateLimiter | None = getattr(request.app.state, "ocpi_rate_limiter", None)
    if limiter is None or (limiter.per_second, limiter.burst) != (per_second, burst):
        limiter = RateLimiter(per_second, burst)
        request.app.state.ocpi_rate_limiter = limiter
    wait = limiter.wait_for(partner_id)
    if wait > 0:
        raise OcpiError(GENERIC_CLIENT_ERROR,
                        f"rate limit exceeded ({per_second:g} requests/s, bursts of {burst}); "
                        f"retry after {math.ceil(wait)} s", 429,
                        headers={"Retry-After": str(math.ceil(wait))})
