"""What one client can make the server hold: multipart bodies of many parts and JSON nested
thousands deep are refused early (a 400, not an internal error with a traceback in the log),
the uploads folder stays within its bounds however many distinct images are posted, and no
more than a bounded number of long polls is held however many a client opens."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx2
import pytest

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.service.decoding import DecodeLimiter
from imagegen_mcp.web import routes
from imagegen_mcp.web.routes import MAX_HELD_POLLS
from imagegen_mcp.web.upload_bounds import Bounds
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
    store = UploadStore(tmp_path / "uploads", Bounds(max_files=2, max_bytes=10**9))
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
    small = UploadStore(tmp_path / "small", Bounds(max_files=100, max_bytes=2 * one))
    ids = []
    for shade in range(5):
        ids.append((await small.add("x.png", png((64, 64), (shade, 9, 9)), decoder)).id)
        age(small, ids[-1], 10 - shade)
    kept = sorted(p.stem for p in small.folder.iterdir())
    assert kept == sorted(ids[-2:])
    tiny = UploadStore(tmp_path / "tiny", Bounds(max_files=100, max_bytes=1))
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


async def test_long_polls_past_the_bound_answer_at_once(tmp_path: Path) -> None:
    """However many polls a client opens, the server holds at most ``MAX_HELD_POLLS``; the
    next answers with the task as it is, and a held one still answers when its task moves."""
    async with Sandbox(SandboxConfig(task_duration=30, seed=1)) as slow:
        settings = make_settings(slow, tmp_path / "home")
        static = page_folder(tmp_path / "page")
        limits = httpx2.Limits(max_connections=MAX_HELD_POLLS + 10)
        async with (
            serve_web(settings, static) as base,
            page_client(base) as http,
            httpx2.AsyncClient(base_url=base, timeout=60, limits=limits) as polls,
        ):
            made = await http.post("/api/generate", json={"prompt": "a slow fox"})
            task_id = made.json()["task"]["task_id"]
            # Held 8 s at most (the server waits for held polls as it stops).
            poll = f"/api/tasks/{task_id}?wait=8&after=100"
            with anyio.fail_after(20):  # running upstream: no new status for 30 s
                while (await http.get(poll)).json()["task"]["status"] != "processing":
                    pass
            answered: list[str] = []

            async def follow() -> None:
                answer = await polls.get(poll)
                assert answer.status_code == 200
                answered.append(answer.json()["task"]["status"])

            async with anyio.create_task_group() as tg:
                for _ in range(MAX_HELD_POLLS + 1):
                    tg.start_soon(follow)
                with anyio.fail_after(4):  # one of them answers at once, not after 8 s
                    while not answered:
                        await anyio.sleep(0.05)
                assert answered == ["processing"]
                # The bound is still taken: another poll answers at once too.
                with anyio.fail_after(4):
                    beyond = await http.get(poll)
                assert beyond.json()["task"]["status"] == "processing"
                assert len(answered) == 1  # the others are still held
                tg.cancel_scope.cancel()


def upload_head(base: str) -> str:
    """The head of an upload that announces 100,000 bytes of multipart body."""
    host = base.removeprefix("http://")
    return (
        f"POST /api/uploads HTTP/1.1\r\nHost: {host}\r\nOrigin: {base}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n"
    )


async def test_a_stalled_upload_gives_its_slot_back(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "UPLOAD_SECONDS", 1.0)
    settings = make_settings(sandbox, tmp_path / "home")
    static = page_folder(tmp_path / "page")
    async with serve_web(settings, static) as base, page_client(base) as http:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        head = upload_head(base)
        stalled = []
        for _ in range(routes.UPLOADS_AT_ONCE):  # every slot taken by a body that stops
            stream = await anyio.connect_tcp(host, int(port))
            await stream.send(head.encode() + b"--XyZ\r\n")
            stalled.append(stream)
        try:
            with anyio.fail_after(10):
                answers = [(await s.receive()).split(b" ", 2)[1] for s in stalled]
                upload = await http.post("/api/uploads", files={"file": ("a.png", png())})
        finally:
            for stream in stalled:
                await stream.aclose()
        assert answers == [b"408"] * routes.UPLOADS_AT_ONCE
        assert upload.status_code == 201, upload.text


async def test_uploads_cut_off_mid_body_are_not_logged_as_internal_errors(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    static = page_folder(tmp_path / "page")
    async with serve_web(settings, static) as base, page_client(base) as http:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        head = upload_head(base)
        for _ in range(routes.UPLOADS_AT_ONCE):  # every slot, each left by its client
            stream = await anyio.connect_tcp(host, int(port))
            await stream.send(head.encode() + b"--XyZ\r\n")
            await stream.aclose()
        with anyio.fail_after(10):  # stored once the cut-off ones have given their slots back
            upload = await http.post("/api/uploads", files={"file": ("a.png", png())})
        assert upload.status_code == 201, upload.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
