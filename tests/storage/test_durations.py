"""What the poller learns per model is kept in the store: bounded, shared, and durable."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.durations import ALPHA


async def test_the_learned_duration_ratio_survives_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = await TaskStore.open(path)
    try:
        assert await store.duration_ratios() == {}
        assert await store.learn_duration("gpt-image-1", 2.0) == 2.0  # the first task sets it
        learned = await store.learn_duration("gpt-image-1", 1.0)
        assert learned == pytest.approx(2.0 + ALPHA * (1.0 - 2.0))
        await store.learn_duration("other-model", 0.5)
    finally:
        await store.aclose()
    reopened = await TaskStore.open(path)
    try:
        assert await reopened.duration_ratios() == pytest.approx(
            {"gpt-image-1": learned, "other-model": 0.5}
        )
    finally:
        await reopened.aclose()


async def test_one_absurd_task_moves_the_ratio_only_a_bounded_step(tmp_path: Path) -> None:
    store = await TaskStore.open(tmp_path / "state.db")
    try:
        await store.learn_duration("m", 1.0)
        after = await store.learn_duration("m", 1e9)  # held upstream for days: clamped
        assert after == pytest.approx(1.0 + ALPHA * (10.0 - 1.0))
        for _ in range(200):  # bounded memory: one row however many tasks
            await store.learn_duration("m", 1.5)
        assert (await store.duration_ratios())["m"] == pytest.approx(1.5)
    finally:
        await store.aclose()
