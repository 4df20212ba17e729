"""Token buckets: a burst of `count` at once, then `count` per `seconds`, per key."""

from __future__ import annotations

import time
from collections.abc import Hashable

from chatd.config import RateLimit
from chatd.domain.errors import RateLimited


class RateLimiter:
    """Per-process limits (each chatd process counts its own clients' traffic)."""

    _PRUNE_AT = 10_000

    def __init__(self, limit: RateLimit):
        self._capacity = float(limit.count)
        self._per_second = limit.count / limit.seconds
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def acquire(self, key: Hashable) -> float:
        """0 when the event may happen now (and counts it), else the seconds to wait."""
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - stamp) * self._per_second)
        if tokens < 1:
            return (1 - tokens) / self._per_second
        if len(self._buckets) >= self._PRUNE_AT:
            self._prune(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled: they hold nothing a fresh one would not."""
        refill = self._capacity / self._per_second
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill}


def within_limit(limiter: RateLimiter | None, key: Hashable, refusal: str) -> None:
    """Count one event against `limiter` (None: no limit), or refuse it with the wait."""
    if limiter is not None:
        wait = limiter.acquire(key)
        if wait:
            raise RateLimited(refusal, retry_after=wait)
