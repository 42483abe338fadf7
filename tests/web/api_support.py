"""Serving the real HTTP app (MCP, the playground's routes) for the API tests, with a page
folder of the test's own, and the little the tests send: images, uploads, long polls."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from PIL import Image

from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.settings import FAST_POLLER, WAIT

INDEX = "<!doctype html><title>Playground</title><script type=module src=/static/app.js></script>"


def page_folder(root: Path) -> Path:
    """A stand-in for web/static/ (the page itself is tested elsewhere), with a secret beside it
    that no static path may reach."""
    static = root / "static"
    (static / "sub").mkdir(parents=True, exist_ok=True)
    (static / "index.html").write_text(INDEX)
    (static / "app.js").write_text("export const ok = 1;\n")
    (static / "sub" / "style.css").write_text("body { margin: 0 }\n")
    (static / ".hidden").write_text("hidden")
    (root / "secret.txt").write_text("SECRET-OUTSIDE")
    return static


def serve_web(
    settings: Settings, static: Path, *, app_host: str | None = None
) -> AbstractAsyncContextManager[str]:
    """``serve_http`` with the fast poller and the test's own page folder."""
    return serve_http(settings, app_host=app_host, poller=FAST_POLLER, static_dir=static)


@asynccontextmanager
async def page_client(base: str, **headers: str) -> AsyncIterator[httpx2.AsyncClient]:
    """A client that sends what the page's fetches send: its own Origin."""
    async with httpx2.AsyncClient(
        base_url=base, headers={"Origin": base, **headers}, timeout=30
    ) as http:
        yield http


def png(size: tuple[int, int] = (256, 256), color: tuple[int, ...] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB" if len(color) == 3 else "RGBA", size, color).save(buf, format="PNG")
    return buf.getvalue()


def mask_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """What the page's painter sends: white opaque inside ``box`` (change), black elsewhere."""
    img = Image.new("RGB", size, (0, 0, 0))
    img.paste((255, 255, 255), box)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


async def upload(http: httpx2.AsyncClient, data: bytes, name: str = "ref.png") -> dict[str, Any]:
    answer = await http.post("/api/uploads", files={"file": (name, data, "image/png")})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def finished(http: httpx2.AsyncClient, task_id: str) -> dict[str, Any]:
    """The task once terminal, following it by long polls as the page does."""
    with anyio.fail_after(WAIT):
        while True:
            answer = await http.get(f"/api/tasks/{task_id}", params={"wait": 5, "after": 100})
            assert answer.status_code == 200, answer.text
            task: dict[str, Any] = answer.json()["task"]
            if task["status"] in ("completed", "failed", "unknown", "expired"):
                return task


def one_line_error(answer: httpx2.Response) -> str:
    message = answer.json()["error"]
    assert isinstance(message, str) and message and "\n" not in message, answer.text
    return message
