"""Intake domain, rate limit (pure): token buckets per key (an API key's source, or a public form
client's address); the caller passes the time in."""

from __future__ import annotations


class RateLimiter:
    """Token buckets per key: up to ``burst`` requests at once, refilled at ``rate`` per second.

    State lives in the process, so each replica limits on its own: with N replicas behind a
    load balancer a key may get up to N x rate. Time comes in as ``now`` (monotonic seconds).
    Keys can be client addresses, as many as the internet has: a bucket that has filled up again
    is the same as no bucket, so those are dropped whenever the table has doubled since the last sweep.
    """

    def __init__(self, rate: float, burst: int, sweep_at: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = float(rate), float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._sweep_at = self._sweep_floor = sweep_at

    def take(self, key: str, now: float) -> float:
        """Take a token for ``key``: 0.0 when the request may pass, else the seconds until one is back."""
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        if len(self._buckets) >= self._sweep_at:
            self._sweep(now)
        return wait

    def tracked(self) -> int:
        """How many keys have a bucket (tests and metrics)."""
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        self._buckets = {key: (tokens, then) for key, (tokens, then) in self._buckets.items()
                         if tokens + (now - then) * self.rate < self.burst}
        self._sweep_at = max(self._sweep_floor, 2 * len(self._buckets))
