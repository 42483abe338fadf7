"""Reading only from allowed folders, judged on the file opened, not on its name."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from imagegen_mcp.storage.confined import ConfinementError, read_confined


def test_a_link_out_of_the_folder_is_refused_and_one_inside_is_read(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    (inside / "ok").write_bytes(b"fine")
    (inside / "out-link").symlink_to(outside / "secret")
    (inside / "in-link").symlink_to(inside / "ok")
    roots = (inside.resolve(),)
    assert read_confined(inside / "in-link", roots, 100) == b"fine"
    with pytest.raises(ConfinementError, match="outside") as refused:
        read_confined(inside / "out-link", roots, 100)
    assert refused.value.real_path == (outside / "secret").resolve()
    with pytest.raises(ConfinementError, match="outside"):
        read_confined(inside / ".." / "out" / "secret", roots, 100)


def test_loops_directories_fifos_and_large_files_are_refused(tmp_path: Path) -> None:
    roots = (tmp_path.resolve(),)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ConfinementError, match="loop"):
        read_confined(tmp_path / "a", roots, 100)
    with pytest.raises(ConfinementError, match="not a regular file"):
        read_confined(tmp_path, roots, 100)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(ConfinementError, match="not a regular file"):
            read_confined(tmp_path / "fifo", roots, 100)
    (tmp_path / "big").write_bytes(bytes(1000))
    with pytest.raises(ConfinementError, match="MB"):
        read_confined(tmp_path / "big", roots, 999)


def test_a_name_swapped_for_a_link_during_reads_never_yields_outside_bytes(
    tmp_path: Path,
) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret").write_bytes(b"SECRET")
    (inside / "real").write_bytes(b"image")
    name = inside / "target"
    roots = (inside.resolve(),)
    stop = threading.Event()

    def swap() -> None:
        # Flip the name between a file inside and a link to the secret, as fast as possible.
        while not stop.is_set():
            for source in (inside / "real", outside / "secret"):
                tmp = inside / "next"
                tmp.unlink(missing_ok=True)
                if source.parent == inside:
                    os.link(source, tmp)
                else:
                    tmp.symlink_to(source)
                os.replace(tmp, name)

    swapper = threading.Thread(target=swap)
    swapper.start()
    results = {"read": 0, "refused": 0}
    try:
        # Bounded; stops early once both outcomes have been seen often enough (under a loaded
        # machine the swapping thread may get few turns, so a fixed short run can see one).
        for _ in range(50_000):
            if min(results.values()) >= 50:
                break
            try:
                data = read_confined(name, roots, 100)
            except (ConfinementError, FileNotFoundError):
                results["refused"] += 1
                continue
            assert data == b"image"
            results["read"] += 1
    finally:
        stop.set()
        swapper.join()
    assert results["read"] > 0 and results["refused"] > 0
