"""A short soak: faults on GETs and downloads, the stdio server SIGKILLed and restarted.

The full run is ``python -m bench.soak`` (100 tasks, 8 kills); this one is small enough for
every CI run and checks the same invariants: nothing lost, nothing duplicated, no create sent
twice, nothing left open.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.soak.config import SoakConfig
from tests.support.soak.run import run_soak


async def test_short_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    cfg = SoakConfig(
        tasks=16,
        kills=3,
        kill_after=(0.3, 1.0),
        concurrency=16,
        duration=0.4,
        rps=50.0,
        wait_seconds=2.0,
        seed=3,
        timeout=240.0,
    )
    report = await run_soak(cfg, tmp_path)
    assert report.problems == []
    assert report.kills >= 1  # at least one server really died under load
    assert report.images_lost == 0
    assert report.images_duplicated == 0
    assert report.creates_twice == 0
    assert report.tasks_open == 0
    assert report.partial_files == 0
    assert sum(report.statuses.values()) == cfg.tasks
    assert report.images_saved == report.images_expected > 0
