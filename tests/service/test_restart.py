"""A server killed with SIGKILL while tasks are open finishes the job after a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig
from imagegen_mcp.server.runtime import open_engine
from tests.conftest import FAST_POLLER, make_settings

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")


def _submitted(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM tasks WHERE upstream_id IS NOT NULL"
            ).fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return 0
    return int(row[0])


async def test_sigkilled_process_tasks_are_resumed_and_saved_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with Sandbox(SandboxConfig(task_duration=30.0, seed=3)) as sb:
        env = {
            **os.environ,
            "EVOLINK_API_KEY": SANDBOX_API_KEY,
            "IMAGEGEN_API_BASE": sb.base_url,
            "IMAGEGEN_FILES_BASE": sb.base_url,
            "IMAGEGEN_HOME": str(home),
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "imagegen_mcp", "generate", f"kill test {i}", "-n", "2"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(3)
        ]
        try:
            with anyio.fail_after(60):
                while _submitted(home / "state.db") < 3:
                    await anyio.sleep(0.05)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        assert all(p.returncode == -signal.SIGKILL for p in procs)
        sb.advance(60)  # the tasks complete upstream while no server runs

        settings = make_settings(sb, home)
        async with open_engine(settings, poller=FAST_POLLER) as engine:
            tasks = await engine.recent(limit=10)
            assert len(tasks) == 3
            with anyio.fail_after(30):
                done = [await engine.wait(t.id, 30) for t in tasks]
        assert [t.status for t in done] == ["completed"] * 3, [
            (t.status, t.upstream_id, t.error) for t in done
        ]
        assert all(len(t.images) == 2 for t in done)
        assert sb.counters.creates == 3

        saved = sorted(p.name for p in settings.images_dir.rglob("*.png"))
        assert len(saved) == 6 and len(set(saved)) == 6
        assert sorted(p.name for p in settings.images_dir.rglob("*.json")) == sorted(
            f"{t.id}.json" for t in done
        )
