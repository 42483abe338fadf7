"""One request-rate cap shared by every caller of the upstream, with a global slow-down on 429."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

#: Requests are paced this much under the configured cap: network jitter between our release and
#: the upstream's arrival must not put one request too many into the upstream's one-second window.
HEADROOM = 0.95


class RateLimiter:
    """Releases requests at least ``1 / (rate * HEADROOM)`` seconds apart, process-wide.

    Requests queue in order and each is released only after the previous one actually was (a
    request whose wake-up ran late pushes the next one back, so two are never released closer
    than the interval). ``penalize(seconds)`` pushes every later request back: one 429 slows
    everyone down, which is what an upstream that is shedding load wants, instead of each task
    retrying on its own.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._interval = 1.0 / (rate * HEADROOM)
        self._clock = clock
        self._sleep = sleep  # with ``clock``, lets tests run on virtual time
        self._next = 0.0
        self._lock = anyio.Lock()
        self.waited = 0.0  # total seconds spent waiting, for benchmarks

    @property
    def rate(self) -> float:
        """The configured cap (requests per second); actual pacing is a little under it."""
        return self._rate

    async def acquire(self) -> None:
        start = self._clock()
        async with self._lock:
            # Re-checked after each sleep: a penalty may have moved the next slot meanwhile.
            while (delay := self._next - self._clock()) > 0:
                await self._sleep(delay)
            self._next = self._clock() + self._interval
        self.waited += self._clock() - start

    def penalize(self, seconds: float) -> None:
        """Hold every request for at least ``seconds`` from now."""
        self._next = max(self._next, self._clock() + max(0.0, seconds))
