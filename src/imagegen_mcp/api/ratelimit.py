"""One request-rate cap shared by every caller of the upstream, with a global slow-down on 429."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio


class RateLimiter:
    """Spaces requests at least ``1/rate`` seconds apart across all tasks in the process.

    ``penalize(seconds)`` pushes every later request back: one 429 slows everyone down, which is
    what an upstream that is shedding load wants, instead of each task retrying on its own.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = anyio.Lock()
        self.waited = 0.0  # total seconds spent waiting, for benchmarks

    @property
    def rate(self) -> float:
        return 1.0 / self._interval

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            self.waited += delay
            await anyio.sleep(delay)

    def penalize(self, seconds: float) -> None:
        """Hold every request for at least ``seconds`` from now."""
        self._next = max(self._next, self._clock() + max(0.0, seconds))
