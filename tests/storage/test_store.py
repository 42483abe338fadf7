"""The store and the image folder on disk: private files, clear start-up errors, races."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from imagegen_mcp.errors import StorageError
from imagegen_mcp.models import TaskRequest
from imagegen_mcp.service.engine import TaskEngine
from imagegen_mcp.storage import files
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.files import PARTIAL_DIR, ImageSaver
from imagegen_mcp.storage.intents import Intent

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
async def test_the_state_folder_and_database_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    store = await TaskStore.open(home / "state.db")
    try:
        await store.create_intent(Intent("ig-000000000001", TaskRequest(prompt="secret plan")))
        assert _mode(home) == 0o700
        written = [p for p in home.iterdir() if p.name.startswith("state.db")]
        assert {p.name for p in written} >= {"state.db", "state.db-wal"}
        for path in written:
            assert _mode(path) == 0o600, path.name
    finally:
        await store.aclose()


@posix_only
async def test_saved_images_and_their_sidecars_are_private(engine: TaskEngine) -> None:
    task = await engine.submit(TaskRequest(prompt="private"))
    done = await engine.wait(task.id, 20)
    image = Path(done.images[0].path)
    assert _mode(image) == 0o600
    assert _mode(image.with_name(f"{done.id}.json")) == 0o600


async def test_a_damaged_database_says_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(StorageError, match=r"is damaged .* move it aside"):
        await TaskStore.open(db)


async def test_an_unusable_home_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the home folder should be")
    with pytest.raises(StorageError, match="IMAGEGEN_HOME"):
        await TaskStore.open(tmp_path / "file" / "state.db")


async def test_a_partial_file_renamed_by_another_process_during_start_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = tmp_path / "out" / PARTIAL_DIR
    partial.mkdir(parents=True)
    busy = partial / "dl-otherscope-1-2-abc.part"
    busy.write_bytes(b"half")

    def finished_meanwhile(tag: str) -> bool:
        busy.unlink()  # the other (live) process completed its download just now
        return False

    monkeypatch.setattr(files, "file_tag_gone", finished_meanwhile)
    await ImageSaver(tmp_path / "out").prepare()
    assert not busy.exists()
