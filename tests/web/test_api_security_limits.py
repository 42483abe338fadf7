"""What one client can make the server hold: multipart bodies of many parts and JSON nested
thousands deep are refused early (a 400, not an internal error with a traceback in the log),
and the uploads folder stays within its bounds however many distinct images are posted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.service.decoding import DecodeLimiter
from imagegen_mcp.web.uploads import UploadStore
from tests.support.settings import make_settings
from tests.web.api_support import one_line_error, page_client, page_folder, png, serve_web

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def multipart(fields: int, picture: bytes) -> bytes:
    """``fields`` small text fields, then the file."""
    parts = [
        b'--XyZ\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % i
        for i in range(fields)
    ]
    parts.append(
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + picture + b"\r\n--XyZ--\r\n"
    )
    return b"".join(parts)


async def test_an_upload_of_many_parts_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    static = page_folder(tmp_path / "page")
    kind = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    async with serve_web(settings, static) as base, page_client(base) as http:
        few = await http.post("/api/uploads", content=multipart(3, png()), headers=kind)
        assert few.status_code == 201, few.text
        many = await http.post("/api/uploads", content=multipart(20_000, png()), headers=kind)
        assert many.status_code == 400
        assert "too many fields" in one_line_error(many)


def age(store: UploadStore, upload_id: str, seconds_ago: float) -> None:
    path = store.path_of(upload_id)
    assert path is not None
    when = path.stat().st_mtime - seconds_ago
    os.utime(path, (when, when))


async def test_the_uploads_folder_keeps_the_most_recently_used_within_its_bounds(
    tmp_path: Path,
) -> None:
    decoder = DecodeLimiter()
    store = UploadStore(tmp_path / "uploads", max_files=2, max_bytes=10**9)
    a = await store.add("a.png", png(color=(1, 0, 0)), decoder)
    age(store, a.id, 30)
    b = await store.add("b.png", png(color=(2, 0, 0)), decoder)
    age(store, b.id, 20)
    await store.add("a.png", png(color=(1, 0, 0)), decoder)  # a used again: the newest
    c = await store.add("c.png", png(color=(3, 0, 0)), decoder)
    assert store.path_of(b.id) is None  # the least recently used went
    assert store.path_of(a.id) is not None and store.path_of(c.id) is not None
    assert len(list(store.folder.iterdir())) == 2

    # Bytes bound it too: room for two of these, never fewer than the one just stored.
    one = len(png((64, 64)))
    small = UploadStore(tmp_path / "small", max_files=100, max_bytes=2 * one)
    ids = []
    for shade in range(5):
        ids.append((await small.add("x.png", png((64, 64), (shade, 9, 9)), decoder)).id)
        age(small, ids[-1], 10 - shade)
    kept = sorted(p.stem for p in small.folder.iterdir())
    assert kept == sorted(ids[-2:])
    tiny = UploadStore(tmp_path / "tiny", max_files=100, max_bytes=1)
    only = await tiny.add("y.png", png((64, 64)), decoder)
    assert tiny.path_of(only.id) is not None


async def test_json_nested_thousands_deep_is_a_400_not_an_internal_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    static = page_folder(tmp_path / "page")
    kind = {"Content-Type": "application/json"}
    async with serve_web(settings, static) as base, page_client(base) as http:
        for body in (
            b"[" * 100_000,
            b'{"prompt": "x", "options": {"a": ' + b"[" * 5_000 + b"]" * 5_000 + b"}}",
        ):
            answer = await http.post("/api/generate", content=body, headers=kind)
            assert answer.status_code == 400, answer.text
            assert "nested too deeply" in one_line_error(answer)
    assert sandbox.counters.create_requests == 0
