"""Which process owns an unanswered create, and whether it has certainly ended (pids are
reused, containers share folders); and clearing a dead process's partial downloads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagegen_mcp.storage.owner import current_owner, owner_gone, owner_of


def finished_process_owner() -> str:
    """The owner string of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = owner_of(proc.pid)
    proc.wait()
    return owner


@pytest.mark.skipif(not hasattr(os, "waitid"), reason="needs POSIX waitid")
def test_owner_gone_only_when_certain() -> None:
    assert not owner_gone(None)
    assert not owner_gone("")
    assert not owner_gone("garbage")
    assert not owner_gone(current_owner())
    _, pid, start = finished_process_owner().split(":")
    assert not owner_gone(f"another-scope:{pid}:{start}")  # another host or container
    assert owner_gone(finished_process_owner())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = owner_of(sleeper.pid)
        assert not owner_gone(owner)
        scope, pid, start = owner.split(":")
        if start:  # the pid now names a process started at another time: pid reuse
            assert owner_gone(f"{scope}:{pid}:{int(start) - 1}")
        sleeper.kill()
        # Wait for it to end without reaping it: a zombie has ended all the same.
        os.waitid(os.P_PID, sleeper.pid, os.WEXITED | os.WNOWAIT)
        assert owner_gone(owner)
    finally:
        sleeper.kill()
        sleeper.wait()


async def test_partial_downloads_of_a_dead_process_are_cleared(tmp_path: Path) -> None:
    from imagegen_mcp.storage.files import PARTIAL_DIR, ImageSaver
    from imagegen_mcp.storage.owner import file_tag

    partial = tmp_path / "out" / PARTIAL_DIR
    partial.mkdir(parents=True)
    scope, pid, start = finished_process_owner().split(":")
    dead = partial / f"dl-{scope}-{pid}-{start}-abc123.part"
    mine = partial / f"dl-{file_tag()}-def456.part"
    foreign = partial / "dl-zz9xy8.part"  # no owner in the name: only age removes it
    for path in (dead, mine, foreign):
        path.write_bytes(b"half an image")
    await ImageSaver(tmp_path / "out").prepare()
    assert not dead.exists()
    assert mine.exists() and foreign.exists()
