"""The decode limiter: worker threads, two at a time, a bound on the pixels in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio
from anyio import wait_all_tasks_blocked

from imagegen_mcp.service.decoding import DecodeLimiter


class Recorder:
    """Stands in for decodes of a given pixel count, recording what runs at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: list[int] = []
        self.peak_pixels = 0
        self.peak_count = 0
        self.threads: set[int] = set()
        self.alone: list[int] = []  # pixel counts that ran with nothing else

    def decode(self, pixels: int) -> Callable[[], int]:
        def run() -> int:
            with self._lock:
                self.running.append(pixels)
                self.threads.add(threading.get_ident())
                self.peak_pixels = max(self.peak_pixels, sum(self.running))
                self.peak_count = max(self.peak_count, len(self.running))
                others = len(self.running) - 1
            time.sleep(0.02)  # stands for the decode's work, so that allowed overlaps happen
            with self._lock:
                if others == 0 and len(self.running) == 1:
                    self.alone.append(pixels)
                self.running.remove(pixels)
            return pixels

        return run


async def test_decodes_run_in_threads_two_at_a_time_within_the_pixel_budget() -> None:
    limiter = DecodeLimiter(slots=2, budget=100)
    recorder = Recorder()
    sizes = [60, 60, 30, 30, 30, 10, 10, 90]
    done: list[int] = []

    async def one(pixels: int) -> None:
        done.append(await limiter.run(pixels, recorder.decode(pixels)))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for pixels in sizes:
                tg.start_soon(one, pixels)
    assert sorted(done) == sorted(sizes)
    assert threading.get_ident() not in recorder.threads
    assert recorder.peak_count <= 2
    assert recorder.peak_pixels <= 100
    assert limiter.pixels_in_flight == 0


async def test_an_image_larger_than_the_budget_waits_until_nothing_else_runs() -> None:
    limiter = DecodeLimiter(slots=2, budget=100)
    recorder = Recorder()
    sizes = [40, 250, 40, 40]

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for pixels in sizes:
                tg.start_soon(limiter.run, pixels, recorder.decode(pixels))
    assert 250 in recorder.alone
    assert limiter.pixels_in_flight == 0


async def test_a_cancelled_wait_gives_its_pixels_back() -> None:
    limiter = DecodeLimiter(slots=2, budget=100)
    release = threading.Event()
    started = anyio.Event()

    def hold() -> None:
        anyio.from_thread.run_sync(started.set)
        release.wait(10)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(limiter.run, 80, hold)
            await started.wait()
            with anyio.CancelScope() as waiting:
                tg.start_soon(_cancel_once_blocked, waiting)
                await limiter.run(50, lambda: None)  # waits for the budget until cancelled
            assert waiting.cancelled_caught
            assert limiter.pixels_in_flight == 80
            release.set()
    assert limiter.pixels_in_flight == 0
    assert await limiter.run(100, lambda: 1) == 1


async def _cancel_once_blocked(scope: anyio.CancelScope) -> None:
    await wait_all_tasks_blocked()
    scope.cancel()
