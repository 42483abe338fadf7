"""The poller under a short request budget, and what it learns from finished tasks."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import anyio.lowlevel

from imagegen_mcp.api.ratelimit import Priority
from imagegen_mcp.models import TaskRequest
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.service.engine import TaskEngine
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.service.schedule import PollPolicy
from tests.conftest import make_settings

WAIT = 20.0


def due_at(engine: TaskEngine, task_id: str) -> float | None:
    """When the poller will next look at the task, on ``time.monotonic()``."""
    left = engine.poller.next_poll(task_id)
    return None if left is None else time.monotonic() + left


async def test_a_learned_duration_ratio_survives_a_restart_and_moves_the_first_poll(
    tmp_path: Path,
) -> None:
    # Tasks of 0.3 s that the upstream estimates at 1 s (its minimum): the first poll comes at
    # half the expected duration, 0.5 s on a fresh store, well under that once it has learned.
    policy = PollPolicy(approach=0.5, near_interval=0.05, min_interval=0.01, max_interval=5.0)
    config = PollerConfig(policy=policy, error_backoff=0.05, storage_backoff=0.1)
    async with Sandbox(SandboxConfig(task_duration=0.3, seed=2)) as sb:
        settings = make_settings(sb, tmp_path / "home")
        async with open_engine(settings, poller=config) as engine:
            task = await engine.submit(TaskRequest(prompt="first of its model"))
            assert task.estimated_time == 1
            fresh = engine.poller.next_poll(task.id)
            assert fresh is not None and fresh > 0.4
            assert (await engine.wait(task.id, WAIT)).status == "completed"
            learned = await engine.store.duration_ratios()
        assert 0.1 < learned[task.request.model] < 0.8
        async with open_engine(settings, poller=config) as engine:  # a restart
            again = await engine.submit(TaskRequest(prompt="second of its model"))
            first = engine.poller.next_poll(again.id)
            assert first is not None and first < 0.5 * 0.8
            assert (await engine.wait(again.id, WAIT)).status == "completed"


async def test_early_progress_polls_wait_while_more_requests_queue_than_a_second_of_the_cap(
    tmp_path: Path,
) -> None:
    # A 5 s task probed for progress after 0.25 s, at a cap of 2 requests/s with four more
    # requests queued: the probe is put off (no GET) until the queue is back under a second.
    policy = PollPolicy(approach=0.05, near_interval=0.05, min_interval=0.01, max_interval=5.0)
    config = PollerConfig(policy=policy, error_backoff=0.05, storage_backoff=0.1)
    async with Sandbox(SandboxConfig(task_duration=5.0, seed=2)) as sb:
        settings = make_settings(sb, tmp_path / "home", max_requests_per_second=2.0)
        async with open_engine(settings, poller=config) as engine:
            limiter = engine.client.limiter
            task = await engine.submit(TaskRequest(prompt="probed under load"))
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(limiter.acquire, Priority.URGENT)
                await anyio.lowlevel.checkpoint()
                assert limiter.short
                planned = due_at(engine, task.id)
                assert planned is not None
                with anyio.fail_after(WAIT):
                    while (now := due_at(engine, task.id)) is None or abs(now - planned) < 0.01:
                        await anyio.sleep(0.01)  # until the probe came due and was re-planned
                assert limiter.short
                assert engine.poller.gets == 0
                assert sb.counters.task_gets == 0
            assert not limiter.short
            with anyio.fail_after(WAIT):
                while sb.counters.task_gets == 0:  # with the queue drained, the probe goes out
                    await anyio.sleep(0.01)
