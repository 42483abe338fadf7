"""The playground's HTTP API over real HTTP against the sandbox: uploads, generate and edit on
the tools' path, the task views, images, history and live progress."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from PIL import Image

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.support.settings import WAIT
from tests.web.api_support import (
    finished,
    mask_png,
    one_line_error,
    page_client,
    png,
    serve_web,
    upload,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def chunked_upload(data: bytes) -> AsyncIterator[bytes]:
    yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
    for start in range(0, len(data), 256 * 1024):
        yield data[start : start + 256 * 1024]
    yield b"\r\n--XyZ--\r\n"


async def test_generate_with_an_uploaded_reference_sends_it_upstream_and_serves_the_images(
    settings: Settings, sandbox: Sandbox, static: Path
) -> None:
    picture = png((300, 200))
    async with serve_web(settings, static) as base, page_client(base) as http:
        stored = await upload(http, picture, "C:\\photos\\cat.png")
        assert stored == {
            "id": hashlib.sha256(picture).hexdigest(),
            "name": "cat.png",
            "width": 300,
            "height": 200,
            "mime_type": "image/png",
            "bytes": len(picture),
        }
        # Stored content-addressed under the home, never in the output folder.
        assert (settings.home / "uploads" / f"{stored['id']}.png").read_bytes() == picture
        assert not list(settings.images_dir.glob("*uploads*"))
        thumb = await http.get(f"/api/uploads/{stored['id']}")
        assert thumb.content == picture and thumb.headers["content-type"] == "image/png"

        refs = [f"upload:{stored['id']}"]
        answer = await http.post(
            "/api/generate", json={"prompt": "a cat, painted", "n": 2, "reference_images": refs}
        )
        assert answer.status_code == 201, answer.text
        started = answer.json()["task"]
        assert started["prompt"] == "a cat, painted" and started["model"] == settings.default_model
        assert started["status"] in ("submitting", "pending", "processing")
        task = await finished(http, started["task_id"])

        assert task["status"] == "completed" and len(task["images"]) == 2
        assert sandbox.counters.uploads == 1
        [sent] = [f.data for f in sandbox.files.values()]
        assert sent == picture
        assert len(sandbox.create_bodies[-1]["image_urls"]) == 1
        first = task["images"][0]
        assert first["url"] == f"/api/images/{task['task_id']}/0"
        image = await http.get(first["url"])
        assert image.status_code == 200
        assert image.content == Path(first["path"]).read_bytes()
        assert image.headers["content-type"] == first["mime_type"]
        assert "content-disposition" not in image.headers
        download = await http.get(first["url"], params={"download": 1})
        name = Path(first["path"]).name
        assert download.headers["content-disposition"] == f'attachment; filename="{name}"'

        history = (await http.get("/api/tasks")).json()
        assert [t["task_id"] for t in history["tasks"]] == [task["task_id"]]
        assert history["counts"]["completed"] == 1 and history["counts"]["running"] == 0
        missing = await http.get(f"/api/images/{task['task_id']}/7")
        assert missing.status_code == 404 and "no saved image 7" in one_line_error(missing)


async def test_edit_with_an_uploaded_mask_changes_only_the_painted_area(
    settings: Settings, sandbox: Sandbox, static: Path
) -> None:
    size = (1024, 1024)  # the size gpt-4o-image makes: the edit is not resampled
    blue = (10, 120, 200)
    async with serve_web(settings, static) as base, page_client(base) as http:
        image = await upload(http, png(size, blue), "base.png")
        mask = await upload(http, mask_png(size, (256, 256, 768, 768)), "mask.png")
        answer = await http.post(
            "/api/edit",
            json={
                "prompt": "a red door here",
                "image": f"upload:{image['id']}",
                "mask": f"upload:{mask['id']}",
            },
        )
        assert answer.status_code == 201, answer.text
        task = await finished(http, answer.json()["task"]["task_id"])
    assert task["status"] == "completed" and task["kind"] == "edit"
    body = sandbox.create_bodies[-1]
    assert body.get("mask_url") and len(body["image_urls"]) == 1
    # The upstream got the canonical mask: transparent (change) where the page painted white.
    [sent_mask] = [f.data for f in sandbox.files.values() if f.data != png(size, blue)]
    with Image.open(io.BytesIO(sent_mask)) as canonical:
        alpha = canonical.convert("RGBA").getchannel("A")
        assert canonical.size == size
        assert alpha.getpixel((512, 512)) == 0 and alpha.getpixel((10, 10)) == 255
    # On disk: the painted square changed, every pixel outside it is the base's.
    with Image.open(task["images"][0]["path"]) as saved:
        pixels = saved.convert("RGB")
    assert pixels.size == size and pixels.getpixel((512, 512)) != blue
    outside = pixels.copy()
    outside.paste(blue, (256, 256, 768, 768))
    assert outside.getcolors() == [(size[0] * size[1], blue)]


async def test_an_image_result_can_be_edited_by_its_image_uri(
    settings: Settings, sandbox: Sandbox, static: Path
) -> None:
    async with serve_web(settings, static) as base, page_client(base) as http:
        made = await http.post("/api/generate", json={"prompt": "a lighthouse"})
        first = await finished(http, made.json()["task"]["task_id"])
        edited = await http.post(
            "/api/edit",
            json={"prompt": "at night", "image": f"image://{first['task_id']}/0"},
        )
        assert edited.status_code == 201, edited.text
        task = await finished(http, edited.json()["task"]["task_id"])
    assert task["status"] == "completed"
    assert sandbox.counters.uploads == 1  # the result, sent as the base


async def test_refused_requests_upload_and_create_nothing(
    settings: Settings, sandbox: Sandbox, static: Path
) -> None:
    async with serve_web(settings, static) as base, page_client(base) as http:
        ref = await upload(http, png())
        refs = [f"upload:{ref['id']}"]
        for body, status, words in [
            ({"prompt": "x", "model": "no-such-model", "reference_images": refs}, 400, "model"),
            ({"prompt": "x", "size": "7:3", "reference_images": refs}, 400, "size"),
            ({"prompt": "x", "n": 3}, 400, "n"),
            ({"prompt": "", "reference_images": refs}, 400, "prompt"),
            ({"prompt": "x", "colour": "red"}, 400, "colour"),
            ({"prompt": "x", "reference_images": ["upload:" + "0" * 64]}, 400, "upload"),
            ({"prompt": "x", "reference_images": ["/etc/passwd"]}, 400, "upload:"),
            ({"prompt": "x", "reference_images": ["https://example.com/a.png"]}, 400, "upload:"),
        ]:
            answer = await http.post("/api/generate", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert words in one_line_error(answer), (body, answer.text)
        edit = await http.post("/api/edit", json={"prompt": "x", "image": "/etc/hosts"})
        assert edit.status_code == 400 and "upload:" in one_line_error(edit)
        not_json = await http.post("/api/generate", content=b"prompt=x")
        assert not_json.status_code == 415
        broken = await http.post(
            "/api/generate", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400 and "JSON" in one_line_error(broken)
    assert sandbox.counters.create_requests == 0 and sandbox.counters.uploads == 0


async def test_uploads_take_only_real_images_up_to_10_mb(
    settings: Settings, sandbox: Sandbox, static: Path
) -> None:
    uploads = settings.home / "uploads"
    async with serve_web(settings, static) as base, page_client(base) as http:
        big = b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024)
        too_big = await http.post("/api/uploads", files={"file": ("big.png", big, "image/png")})
        assert too_big.status_code == 413 and "10 MB" in one_line_error(too_big)
        streamed = await http.post(
            "/api/uploads",
            content=chunked_upload(big),  # no Content-Length: judged on what arrives
            headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        )
        assert streamed.status_code == 413 and "10 MB" in one_line_error(streamed)

        text = await http.post("/api/uploads", files={"file": ("a.png", b"hello", "image/png")})
        assert text.status_code == 415 and "PNG, JPEG or WebP" in one_line_error(text)
        gif = io.BytesIO()
        Image.new("RGB", (8, 8)).save(gif, format="GIF")
        refused = await http.post("/api/uploads", files={"file": ("a.gif", gif.getvalue())})
        assert refused.status_code == 415 and "GIF" in one_line_error(refused)
        cut = png()[:-40]
        truncated = await http.post("/api/uploads", files={"file": ("cut.png", cut)})
        assert truncated.status_code == 415

        no_file = await http.post("/api/uploads", files={"other": ("a.png", png())})
        assert no_file.status_code == 400 and "'file'" in one_line_error(no_file)
        not_multipart = await http.post("/api/uploads", content=png())
        assert not_multipart.status_code == 400

        jpeg = io.BytesIO()
        Image.new("RGB", (40, 30), (1, 2, 3)).save(jpeg, format="JPEG")
        ok = await upload(http, jpeg.getvalue(), "photo.jpg")
        assert ok["mime_type"] == "image/jpeg" and (ok["width"], ok["height"]) == (40, 30)
        assert (await http.get("/api/uploads/" + "f" * 64)).status_code == 404
        assert (await http.get("/api/uploads/..%2f..%2fstate.db")).status_code == 404
    assert sorted(p.name for p in uploads.iterdir()) == [f"{ok['id']}.jpg"]
    assert sandbox.counters.uploads == 0


async def test_the_long_poll_answers_on_each_progress_step(tmp_path: Path, static: Path) -> None:
    from tests.support.settings import make_settings

    async with Sandbox(SandboxConfig(task_duration=3.0, seed=3)) as sandbox:
        settings = make_settings(sandbox, tmp_path / "home")
        async with serve_web(settings, static) as base, page_client(base) as http:
            made = await http.post("/api/generate", json={"prompt": "a slow river"})
            task = made.json()["task"]
            seen: list[tuple[str, int, int]] = []
            with anyio.fail_after(WAIT):
                while task["status"] != "completed":
                    before = (task["status"], task["progress"], len(task["images"]))
                    answer = await http.get(
                        f"/api/tasks/{task['task_id']}",
                        params={"wait": 25, "after": task["progress"]},
                    )
                    task = answer.json()["task"]
                    now = (task["status"], task["progress"], len(task["images"]))
                    # Back on a step: more progress, a new status, an image saved.
                    assert now[1] > before[1] or now[0] != before[0] or now[2] > before[2], now
                    seen.append(now)
            # Answered on each step, not only at the end, and without waiting out the 25 s.
            progress = [p for status, p, _ in seen if status == "processing"]
            assert len(progress) >= 2 and progress == sorted(progress), seen
            quick = await http.get(f"/api/tasks/{task['task_id']}", params={"wait": 25})
            assert quick.json()["task"]["status"] == "completed"
            bad = await http.get(f"/api/tasks/{task['task_id']}", params={"wait": 26})
            assert bad.status_code == 400 and "25" in one_line_error(bad)
            unknown = await http.get("/api/tasks/ig-000000000000")
            assert unknown.status_code == 404 and "history" in one_line_error(unknown)


async def test_history_and_counts_survive_a_restart(
    settings: Settings, sandbox: Sandbox, static: Path
) -> None:
    async with serve_web(settings, static) as base, page_client(base) as http:
        ids = []
        for prompt in ("one", "two"):
            made = await http.post("/api/generate", json={"prompt": prompt})
            ids.append((await finished(http, made.json()["task"]["task_id"]))["task_id"])
    async with serve_web(settings, static) as base, page_client(base) as http:
        history = (await http.get("/api/tasks", params={"limit": 20})).json()
        models = (await http.get("/api/models")).json()
    assert [t["task_id"] for t in history["tasks"]] == ids[::-1]
    assert [t["prompt"] for t in history["tasks"]] == ["two", "one"]
    assert history["counts"]["completed"] == 2 and history["counts"]["running"] == 0
    assert set(history["counts"]) >= {"running", "completed", "failed", "pending"}
    assert models["default"] == settings.default_model
    entry = next(m for m in models["models"] if m["id"] == settings.default_model)
    assert {"modes", "sizes", "tiers", "qualities", "n", "references", "mask"} <= set(entry)
