"""The playground's uploads folder stays bounded: each new upload prunes the uploads unused for
a week, then the least recently used down to the byte cap, never one a task still running was
made from."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.service.decoding import DecodeLimiter
from imagegen_mcp.web import uploads as uploads_module
from imagegen_mcp.web.upload_bounds import DAY, Bounds
from imagegen_mcp.web.uploads import UploadStore
from tests.support.settings import make_settings
from tests.web.api_support import finished, page_client, page_folder, png, serve_web, upload

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def age(path: Path, days: float) -> None:
    """Make ``path`` look last used ``days`` ago."""
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


async def test_a_new_upload_prunes_the_uploads_unused_for_a_week(tmp_path: Path) -> None:
    store, decoder = UploadStore(tmp_path / "uploads"), DecodeLimiter()
    old = await store.add("old.png", png(color=(1, 0, 0)), decoder)
    recent = await store.add("recent.png", png(color=(2, 0, 0)), decoder)
    reused = await store.add("reused.png", png(color=(3, 0, 0)), decoder)
    for stored, days in ((old, 8), (recent, 6), (reused, 8)):
        path = store.path_of(stored.id)
        assert path is not None
        age(path, days)
    await store.add("again.png", png(color=(3, 0, 0)), decoder)  # the same bytes: used again
    # A write a crash left half done, long ago, goes too; one under way now stays.
    (tmp_path / "uploads" / ".upload-crashed.part").write_bytes(b"x")
    age(tmp_path / "uploads" / ".upload-crashed.part", 1)
    (tmp_path / "uploads" / ".upload-now.part").write_bytes(b"x")

    new = await store.add("new.png", png(color=(4, 0, 0)), decoder)
    assert store.path_of(old.id) is None
    kept = {f"{u.id}.png" for u in (recent, reused, new)}
    assert names(tmp_path / "uploads") == kept | {".upload-now.part"}


async def test_the_folder_stays_under_its_cap_least_recently_used_first(tmp_path: Path) -> None:
    one = max(len(png(color=(0, k, 0))) for k in range(1, 6))
    folder = tmp_path / "uploads"
    store, decoder = UploadStore(folder, Bounds(max_bytes=3 * one + one // 2)), DecodeLimiter()
    first = await store.add("first.png", png(color=(0, 1, 0)), decoder)
    second = await store.add("second.png", png(color=(0, 2, 0)), decoder)
    third = await store.add("third.png", png(color=(0, 3, 0)), decoder)
    for stored, days in ((first, 0.3), (second, 0.1), (third, 0.2)):
        path = store.path_of(stored.id)
        assert path is not None
        age(path, days)
    fourth = await store.add("fourth.png", png(color=(0, 4, 0)), decoder)
    # Four files over a cap of three: the least recently used one went.
    assert store.path_of(first.id) is None
    assert names(folder) == {f"{u.id}.png" for u in (second, third, fourth)}
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 3 * one + one // 2
    # Files that are not uploads are never touched.
    (folder / "notes.txt").write_bytes(b"x" * 10 * one)
    await store.add("fifth.png", png(color=(0, 5, 0)), decoder)
    assert (folder / "notes.txt").exists()


async def test_an_upload_a_running_task_was_made_from_is_kept_until_the_task_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = len(png(color=(9, 9, 9)))
    # A cap of one upload (they differ by a few bytes): a new upload prunes all the others.
    monkeypatch.setattr(uploads_module, "Bounds", lambda: Bounds(max_bytes=one + one // 2))
    async with Sandbox(SandboxConfig(task_duration=3.0, seed=4)) as sandbox:
        settings = make_settings(sandbox, tmp_path / "home")
        folder = settings.home / "uploads"
        static = page_folder(tmp_path / "page")
        async with serve_web(settings, static) as base, page_client(base) as http:
            ref = await upload(http, png(color=(10, 0, 0)), "ref.png")
            made = await http.post(
                "/api/generate",
                json={"prompt": "a harbour", "reference_images": [f"upload:{ref['id']}"]},
            )
            assert made.status_code == 201, made.text
            task = made.json()["task"]
            loose = await upload(http, png(color=(11, 0, 0)), "loose.png")
            # Over the cap, but the running task's reference stays.
            assert f"{ref['id']}.png" in names(folder)
            assert (await http.get(f"/api/uploads/{ref['id']}")).status_code == 200
            assert task["status"] != "completed"
            await upload(http, png(color=(12, 0, 0)), "other.png")
            assert f"{loose['id']}.png" not in names(folder)  # not protected: pruned
            assert f"{ref['id']}.png" in names(folder)

            done = await finished(http, task["task_id"])
            assert done["status"] == "completed"
            last = await upload(http, png(color=(13, 0, 0)), "last.png")
            assert names(folder) == {f"{last['id']}.png"}
            # A reference pruned before it was sent is refused in one line.
            gone = await http.post(
                "/api/generate",
                json={"prompt": "again", "reference_images": [f"upload:{ref['id']}"]},
            )
            assert gone.status_code == 400 and "upload the file again" in gone.json()["error"]
