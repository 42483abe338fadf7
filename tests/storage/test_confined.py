"""Reading only from allowed folders, judged on the file opened, not on its name."""

from __future__ import annotations

import errno
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

from imagegen_mcp.storage.confined import ConfinementError, read_confined, write_confined


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


def test_writes_land_only_inside_and_never_over_a_file_unless_asked(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (inside / "out-link").symlink_to(outside, target_is_directory=True)
    roots = (inside.resolve(),)
    written = write_confined(inside / "a" / "b" / "x.png", b"one", roots, overwrite=False)
    assert written == inside.resolve() / "a" / "b" / "x.png"
    assert written.read_bytes() == b"one"
    with pytest.raises(ConfinementError, match="already exists"):
        write_confined(written, b"two", roots, overwrite=False)
    assert written.read_bytes() == b"one"
    write_confined(written, b"two", roots, overwrite=True)
    assert written.read_bytes() == b"two"
    (inside / "x-link.png").symlink_to(outside / "victim.png")
    with pytest.raises(ConfinementError, match="already exists"):  # a dangling link is a name
        write_confined(inside / "x-link.png", b"three", roots, overwrite=False)
    write_confined(inside / "x-link.png", b"three", roots, overwrite=True)  # replaces the link
    assert not (inside / "x-link.png").is_symlink()
    for refused in (
        inside / "out-link" / "x.png",
        inside / "out-link" / "new" / "x.png",
        outside / "x.png",
    ):
        with pytest.raises(ConfinementError, match="outside"):
            write_confined(refused, b"no", roots, overwrite=True)
    kept = (inside.resolve() / "kept",)
    for refused in (inside / "kept" / "x.png", inside / "kept" / "new" / "x.png"):
        with pytest.raises(ConfinementError, match="kept apart"):
            write_confined(refused, b"no", roots, overwrite=True, exclude=kept)
    assert not (inside / "kept").exists()
    (inside / "file").write_bytes(b"")
    with pytest.raises(ConfinementError, match="not a folder"):
        write_confined(inside / "file" / "x.png", b"no", roots, overwrite=True)
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in inside.rglob(".*")) == []  # no temp file left


def test_a_folder_swapped_for_a_link_during_writes_never_writes_outside(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (inside / "real").mkdir()
    name = inside / "target"
    roots = (inside.resolve(),)
    stop = threading.Event()

    def swap() -> None:
        # Flip the folder's name between a folder inside, a link out and nothing at all.
        while not stop.is_set():
            for step in (inside / "real", outside, None):
                if name.is_dir() and not name.is_symlink():  # made by a write meanwhile
                    shutil.rmtree(name, ignore_errors=True)
                tmp = inside / "next"
                tmp.unlink(missing_ok=True)
                try:
                    if step is None:
                        name.unlink(missing_ok=True)
                    else:
                        tmp.symlink_to(step, target_is_directory=True)
                        os.replace(tmp, name)
                except OSError:
                    continue  # a write made the folder again: removed next time round

    swapper = threading.Thread(target=swap)
    swapper.start()
    results = {"written": 0, "refused": 0}
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: every step of a write meets a swap
    try:
        for count in range(50_000):
            if count >= 2000 and all(results.values()):
                break
            try:
                write_confined(name / "x.png", b"image", roots, overwrite=True)
            except (ConfinementError, OSError):
                results["refused"] += 1
                continue
            results["written"] += 1
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        swapper.join()
    assert list(outside.iterdir()) == []
    assert results["written"] > 0 and results["refused"] > 0


def test_without_hard_links_a_new_file_is_still_never_written_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # as on FAT and some network shares
    roots = (tmp_path.resolve(),)
    written = write_confined(tmp_path / "x.png", b"one", roots, overwrite=False)
    assert written.read_bytes() == b"one"
    with pytest.raises(ConfinementError, match="already exists"):
        write_confined(tmp_path / "x.png", b"two", roots, overwrite=False)
    assert written.read_bytes() == b"one"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_a_folder_kept_apart_is_known_by_identity_not_by_its_name(tmp_path: Path) -> None:
    # On a case-insensitive disk (macOS, Windows) "IMAGES" is the folder "images": a check of
    # names would let a write in. Another name for the same folder (here a link the exclusion
    # is given by) stands in for that on this file system.
    inside = tmp_path / "in"
    (inside / "images" / "day").mkdir(parents=True)
    alias = tmp_path / "IMAGES"
    alias.symlink_to(inside / "images", target_is_directory=True)
    roots = (inside.resolve(),)
    for refused in (inside / "images" / "x.png", inside / "images" / "day" / "new" / "x.png"):
        with pytest.raises(ConfinementError, match="kept apart"):
            write_confined(refused, b"no", roots, overwrite=True, exclude=(alias,))
    assert not (inside / "images" / "x.png").exists()
    assert not (inside / "images" / "day" / "new").exists() or not any(
        (inside / "images" / "day" / "new").iterdir()
    )
    written = write_confined(
        inside / "other" / "x.png", b"yes", roots, overwrite=False, exclude=(alias,)
    )
    assert written.read_bytes() == b"yes"
