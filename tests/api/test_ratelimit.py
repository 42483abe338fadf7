"""The shared rate cap: releases never closer than the interval, penalties hold everyone.

The limiter runs on a virtual clock: its sleeps move the clock instead of waiting, so each test
checks exact spacing in no real time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from imagegen_mcp.api.ratelimit import HEADROOM, Priority, RateLimiter


class VirtualTime:
    """A clock that only sleeps move; ``at(t, action)`` runs ``action`` once the clock reaches
    ``t`` during a sleep (as a 429 answered to another request would land mid-wait)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._events: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._events.append((when, action))

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        end = self.now + seconds
        for when, action in sorted(self._events, key=lambda e: e[0]):
            if when <= end:
                self.now = max(self.now, when)
                action()
                self._events.remove((when, action))
        self.now = end
        await anyio.lowlevel.checkpoint()  # let other waiters run, as a real sleep would


def limiter_on(vt: VirtualTime, rate: float) -> RateLimiter:
    return RateLimiter(rate, clock=vt.clock, sleep=vt.sleep)


async def test_concurrent_requests_are_released_an_interval_apart() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 100.0)
    released: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        released.append(vt.now)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(one)
    interval = 1 / (100.0 * HEADROOM)
    gaps = [b - a for a, b in itertools.pairwise(sorted(released))]
    assert len(released) == 12
    assert min(gaps) >= interval - 1e-12  # so never more than the cap in any one-second window
    assert limiter.rate == 100.0
    assert limiter.waited == pytest.approx(sum(range(12)) * interval)


async def test_a_late_release_pushes_the_next_one_back() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 50.0)
    await limiter.acquire()
    vt.now += 0.05  # the loop was blocked: the next release is already overdue
    await limiter.acquire()
    assert vt.sleeps == []  # released at once, late
    first = vt.now
    await limiter.acquire()
    assert vt.now - first == pytest.approx(1 / (50.0 * HEADROOM))  # spaced from the late one


async def test_a_penalty_delays_requests_already_waiting() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 1000.0)
    await limiter.acquire()
    limiter.penalize(0.05)
    vt.at(0.01, lambda: limiter.penalize(0.2))  # a second 429 while the request waits
    await limiter.acquire()
    assert vt.now == pytest.approx(0.21)  # held until 0.2 s after the later penalty
    assert vt.sleeps == pytest.approx([0.05, 0.16])  # woke at 0.05, saw the new slot, slept on


async def test_waiting_requests_are_released_by_priority_then_arrival() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 10.0)
    await limiter.acquire()  # the slot at t=0 is taken: everyone below has to queue
    released: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        released.append(name)

    arrivals = [
        ("early-1", Priority.EARLY),
        ("early-2", Priority.EARLY),
        ("due-1", Priority.DUE),
        ("create-1", Priority.URGENT),
        ("early-3", Priority.EARLY),
        ("due-2", Priority.DUE),
        ("create-2", Priority.URGENT),
    ]
    async with anyio.create_task_group() as tg:
        for name, priority in arrivals:
            tg.start_soon(one, name, priority)
    assert released == [
        "create-1",
        "create-2",
        "due-1",
        "due-2",
        "early-1",
        "early-2",
        "early-3",
    ]
    interval = 1 / (10.0 * HEADROOM)
    assert vt.sleeps == pytest.approx([interval] * 7)  # one slot each, an interval apart


async def test_an_urgent_request_arriving_later_takes_the_next_slot() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 10.0)
    await limiter.acquire()
    order: list[str] = []

    async def one(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(one, f"early-{i}", Priority.EARLY)

        def create_arrives() -> None:
            tg.start_soon(one, "create", Priority.URGENT)

        # A create arriving while the first early poll sleeps on the timer still goes first.
        vt.at(0.05, create_arrives)
    assert order == ["create", "early-0", "early-1", "early-2"]


async def test_a_waiter_cancelled_while_holding_the_timer_hands_its_turn_on() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 10.0)
    await limiter.acquire()
    released: list[str] = []

    async def one(name: str) -> None:
        await limiter.acquire(Priority.EARLY)
        released.append(name)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg, anyio.create_task_group() as doomed:
            # First in line, it sleeps for the next slot while the others wait on it, and is
            # cancelled during that sleep: the others must not be left waiting for ever.
            doomed.start_soon(one, "cancelled")
            tg.start_soon(one, "second")
            tg.start_soon(one, "third")
            vt.at(0.05, doomed.cancel_scope.cancel)
    assert released == ["second", "third"]
    assert limiter.backlog == 0


async def test_the_budget_is_short_once_more_than_a_second_of_requests_wait() -> None:
    vt = VirtualTime()
    limiter = limiter_on(vt, 2.0)
    await limiter.acquire()
    seen: list[tuple[int, bool]] = []

    async def one() -> None:
        await limiter.acquire(Priority.URGENT)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(one)
        await anyio.lowlevel.checkpoint()
        seen.append((limiter.backlog, limiter.short))  # 3 waiting > 2 per second
        vt.at(0.6, lambda: seen.append((limiter.backlog, limiter.short)))
    assert seen == [(3, True), (2, False)]
    assert not limiter.short
