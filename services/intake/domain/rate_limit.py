"""Intake domain, rate limit (pure): token buckets per API key; the caller passes the time in."""

from __future__ import annotations


class RateLimiter:
    """Token buckets per API key: up to ``burst`` requests at once, refilled at ``rate`` per second.

    State lives in the process, so each replica limits on its own: with N replicas behind a
    load balancer a key may get up to N x rate. Time comes in as ``now`` (monotonic seconds).
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = float(rate), float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: str, now: float) -> float:
        """Take a token for ``key``: 0.0 when the request may pass, else the seconds until one is back."""
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate
