"""Who owns an unanswered create: a task whose process has died is settled at once on resume."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import anyio

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.owner import current_owner, owner_gone, owner_of
from tests.conftest import FAST_POLLER, make_settings
from tests.service.test_engine import WAIT, req


def _finished_process_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_of(proc.pid)
    proc.wait()
    return owner


def test_owner_gone_only_when_certain() -> None:
    assert not owner_gone(None)
    assert not owner_gone("")
    assert not owner_gone("garbage")
    assert not owner_gone(current_owner())
    assert not owner_gone("some-other-host:1:123")  # another machine: cannot tell
    assert owner_gone(_finished_process_owner())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = owner_of(sleeper.pid)
        assert not owner_gone(owner)
        host, pid, start = owner.rsplit(":", 2)
        if start:  # the pid now names a process started at another time: pid reuse
            assert owner_gone(f"{host}:{pid}:{int(start) - 1}")
        sleeper.kill()
        for _ in range(100):  # killed but not yet reaped: a zombie has ended all the same
            if owner_gone(owner):
                break
            time.sleep(0.01)
        assert owner_gone(owner)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_creates_of_a_dead_process_are_settled_at_once(tmp_path: Path) -> None:
    """No 300 s wait when the process that recorded a create is known dead: a create it never
    sent is sent now (once), one that may be on the wire becomes 'unknown'; a live owner's task
    is left alone."""

    async def scenario() -> None:
        async with Sandbox(SandboxConfig(task_duration=0.2)) as sb:
            settings = make_settings(sb, tmp_path / "home")
            live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            dead = _finished_process_owner()
            try:
                store = await TaskStore.open(settings.db_path)
                await store.create_intent("ig-sent0000000", req("lost"), owner=dead)
                await store.update("ig-sent0000000", sent_at=1.0)
                await store.create_intent("ig-unsent00000", req("never sent"), owner=dead)
                await store.create_intent("ig-live0000000", req("busy"), owner=owner_of(live.pid))
                await store.aclose()
                async with open_engine(settings, poller=FAST_POLLER) as engine:
                    with anyio.fail_after(WAIT):
                        task = await engine.wait("ig-sent0000000", WAIT)
                        resent = await engine.wait("ig-unsent00000", WAIT)
                    assert task.status == "unknown"
                    assert task.error is not None and "may have been created" in task.error.message
                    assert resent.status == "completed" and len(resent.images) == 1
                    assert (await engine.get("ig-live0000000")).status == "submitting"
            finally:
                live.kill()
                live.wait()
            assert sb.counters.create_requests == 1
            assert [t.params.prompt for t in sb.tasks.values()] == ["never sent"]

    anyio.run(scenario)


async def test_partial_downloads_of_a_dead_process_are_cleared(tmp_path: Path) -> None:
    from imagegen_mcp.storage.files import PARTIAL_DIR, ImageSaver
    from imagegen_mcp.storage.owner import file_tag

    partial = tmp_path / "out" / PARTIAL_DIR
    partial.mkdir(parents=True)
    _, pid, start = _finished_process_owner().rsplit(":", 2)
    dead = partial / f"dl-{pid}-{start}-abc123.part"
    mine = partial / f"dl-{file_tag()}-def456.part"
    foreign = partial / "dl-zz9xy8.part"  # no owner in the name: only age removes it
    for path in (dead, mine, foreign):
        path.write_bytes(b"half an image")
    await ImageSaver(tmp_path / "out").prepare()
    assert not dead.exists()
    assert mine.exists() and foreign.exists()
