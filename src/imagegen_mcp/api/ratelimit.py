"""One request-rate cap shared by every caller of the upstream, with a global slow-down on 429."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum

import anyio
import anyio.lowlevel

#: Requests are paced this much under the configured cap: network jitter between our release and
#: the upstream's arrival must not put one request too many into the upstream's one-second window.
HEADROOM = 0.95


class Priority(IntEnum):
    """Which waiting request the next free slot goes to: the lowest value first."""

    URGENT = 0  # creates and uploads: someone is waiting on them, and they start the clock
    DUE = 1  # a poll of a task that should have finished: it decides when results are saved
    EARLY = 2  # a progress poll before the predicted end: it only refines the schedule


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    event: anyio.Event = field(compare=False, default_factory=anyio.Event)
    released: bool = field(compare=False, default=False)
    gone: bool = field(compare=False, default=False)


class RateLimiter:
    """Releases requests at least ``1 / (rate * HEADROOM)`` seconds apart, process-wide.

    Waiting requests form a queue ordered by priority, then arrival. One of them at a time holds
    the timer: it sleeps until the next slot and then hands that slot to the head of the queue
    (whoever it is by then), so a request is released only after the previous one actually was
    (a wake-up that ran late pushes the next one back, and two are never released closer than
    the interval). ``penalize(seconds)`` pushes every later request back: one 429 slows everyone
    down, which is what an upstream that is shedding load wants, instead of each task retrying
    on its own.
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
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()
        self._timer_held = False
        self.waited = 0.0  # total seconds spent waiting, for benchmarks

    @property
    def rate(self) -> float:
        """The configured cap (requests per second); actual pacing is a little under it."""
        return self._rate

    @property
    def backlog(self) -> int:
        """Requests waiting for a slot."""
        return sum(not w.gone for w in self._queue)

    @property
    def short(self) -> bool:
        """More requests wait than one second of the cap releases: optional ones should wait."""
        return self.backlog > self._rate

    async def acquire(self, priority: int = Priority.URGENT) -> None:
        start = self._clock()
        waiter = _Waiter(int(priority), next(self._seq))
        heapq.heappush(self._queue, waiter)
        try:
            await anyio.lowlevel.checkpoint()  # let requests arriving together queue in order
            while not waiter.released:
                if self._timer_held:
                    await waiter.event.wait()  # released, or asked to take the timer
                    waiter.event = anyio.Event()
                else:
                    await self._run_timer()
        except BaseException:
            if not waiter.released:
                waiter.gone = True  # cancelled while waiting: its place goes to the next one
                self._wake_next()
            raise
        finally:
            self.waited += self._clock() - start

    async def _run_timer(self) -> None:
        """Sleep until the next slot and give it to the head of the queue."""
        self._timer_held = True
        try:
            # Re-checked after each sleep: a penalty may have moved the next slot meanwhile.
            while (delay := self._next - self._clock()) > 0:
                await self._sleep(delay)
            while self._queue and self._queue[0].gone:
                heapq.heappop(self._queue)
            if self._queue:
                head = heapq.heappop(self._queue)
                head.released = True
                self._next = self._clock() + self._interval
                head.event.set()
        finally:
            self._timer_held = False
            self._wake_next()

    def _wake_next(self) -> None:
        """With the timer free, let the next in line take it over."""
        while self._queue and self._queue[0].gone:
            heapq.heappop(self._queue)
        if self._queue and not self._timer_held:
            self._queue[0].event.set()

    def penalize(self, seconds: float) -> None:
        """Hold every request for at least ``seconds`` from now."""
        self._next = max(self._next, self._clock() + max(0.0, seconds))
