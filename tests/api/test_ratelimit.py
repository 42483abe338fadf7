"""The shared rate cap: releases never closer than the interval, penalties hold everyone."""

from __future__ import annotations

import itertools
import time

import anyio

from imagegen_mcp.api.ratelimit import HEADROOM, RateLimiter

SLACK = 1e-3  # the event loop may wake a hair early; this checks spacing, not speed


async def _release_times(limiter: RateLimiter, count: int) -> list[float]:
    released: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        released.append(time.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
    return sorted(released)


async def test_concurrent_requests_are_released_an_interval_apart() -> None:
    limiter = RateLimiter(100.0)
    times = await _release_times(limiter, 12)
    interval = 1 / (100.0 * HEADROOM)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= interval - SLACK  # so never more than the cap in any one-second window
    assert limiter.rate == 100.0


async def test_a_late_release_pushes_the_next_one_back() -> None:
    limiter = RateLimiter(50.0)
    await limiter.acquire()
    time.sleep(0.05)  # the loop is blocked: the next release is already overdue
    await limiter.acquire()
    first = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - first >= 1 / (50.0 * HEADROOM) - SLACK


async def test_a_penalty_delays_requests_already_waiting() -> None:
    limiter = RateLimiter(1000.0)
    await limiter.acquire()
    start = time.monotonic()

    async def late_penalty() -> None:
        await anyio.sleep(0.01)
        limiter.penalize(0.2)

    async with anyio.create_task_group() as tg:
        tg.start_soon(late_penalty)
        limiter.penalize(0.05)
        await limiter.acquire()  # sleeping until 0.05 s when the 0.2 s penalty lands
    assert time.monotonic() - start >= 0.2 - SLACK
