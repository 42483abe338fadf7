"""The real transports: a stdio subprocess, and streamable HTTP with a bearer token."""

from __future__ import annotations

import os
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ImageContent

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig
from imagegen_mcp.server.http import http_app
from imagegen_mcp.server.settings import Settings
from tests.conftest import make_settings
from tests.server.conftest import bound_socket, serve_http

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def stdio_server(sandbox: Sandbox, home: Path) -> StdioServerParameters:
    """The real server as a subprocess over stdio, on ``sandbox``."""
    env = {
        **os.environ,
        "EVOLINK_API_KEY": SANDBOX_API_KEY,
        "IMAGEGEN_API_BASE": sandbox.base_url,
        "IMAGEGEN_FILES_BASE": sandbox.base_url,
        "IMAGEGEN_HOME": str(home),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "imagegen_mcp"], env=env)


async def test_stdio_subprocess_generates_a_saved_image(sandbox: Sandbox, tmp_path: Path) -> None:
    params = stdio_server(sandbox, tmp_path / "home")
    with anyio.fail_after(60):
        async with Client(params) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"generate_image", "edit_image", "get_task", "list_tasks"} <= tools
            seen: list[float] = []

            async def on_progress(
                progress: float, total: float | None, message: str | None
            ) -> None:
                seen.append(progress)

            result = await client.call_tool(
                "generate_image", {"prompt": "over stdio", "n": 2}, progress_callback=on_progress
            )
    assert not result.is_error
    # Progress only goes up within a call, and reaches 100 once, when every image is saved.
    assert seen and all(a < b for a, b in pairwise(seen)) and seen[-1] == 100
    data = result.structured_content
    assert data is not None and data["status"] == "completed"
    assert all(Path(img["path"]).exists() for img in data["images"])
    assert sum(isinstance(c, ImageContent) for c in result.content) == 2


async def test_every_waiting_call_over_stdio_reports_strictly_increasing_progress(
    tmp_path: Path,
) -> None:
    # Tasks of about a second, so each wait sees several progress readings.
    async with Sandbox(SandboxConfig(task_duration=1.2, seed=5)) as sandbox:
        params = stdio_server(sandbox, tmp_path / "home")
        with anyio.fail_after(60):
            async with Client(params) as client:

                async def waited(tool: str, args: dict[str, object]) -> dict[str, Any]:
                    seen: list[float] = []

                    async def on_progress(
                        progress: float, total: float | None, message: str | None
                    ) -> None:
                        seen.append(progress)

                    result = await client.call_tool(tool, args, progress_callback=on_progress)
                    assert not result.is_error, result
                    assert seen and all(a < b for a, b in pairwise(seen)), (tool, seen)
                    assert seen[-1] == 100 and seen.count(100) == 1, (tool, seen)
                    data: dict[str, Any] | None = result.structured_content
                    assert data is not None
                    return data

                made = await waited("generate_image", {"prompt": "a fern", "n": 2})
                images = made["images"]
                region = [{"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}]
                await waited(
                    "edit_image",
                    {"prompt": "a red fern", "image": images[0]["uri"], "mask_region": region},
                )
                started = await client.call_tool(
                    "generate_image", {"prompt": "a blue fern", "wait_seconds": 0}
                )
                assert started.structured_content is not None
                task_id = started.structured_content["task_id"]
                done = await waited("get_task", {"task_id": task_id})
                assert done["status"] == "completed"


async def test_streamable_http_requires_the_token_and_reports_progress(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", http_token="s3cret-token")
    async with serve_http(settings) as base:
        async with httpx2.AsyncClient() as http:
            anonymous = await http.post(f"{base}/mcp", json={})
            assert anonymous.status_code == 401
            wrong = await http.post(
                f"{base}/mcp", json={}, headers={"Authorization": "Bearer nope"}
            )
            assert wrong.status_code == 401
            # A loopback bind keeps the SDK's DNS-rebinding guard: a foreign Host is refused.
            rebound = await http.post(
                f"{base}/mcp",
                json={},
                headers={"Authorization": "Bearer s3cret-token", "Host": "evil.example"},
            )
            assert rebound.status_code == 421

        seen: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(progress)

        authed = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-token"})
        async with authed, Client(streamable_http_client(f"{base}/mcp", http_client=authed)) as c:
            result = await c.call_tool(
                "generate_image", {"prompt": "over http"}, progress_callback=on_progress
            )
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert seen and seen[-1] == 100


async def test_upstream_callback_reaches_the_route_without_the_token(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sock = bound_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(sandbox, tmp_path / "home", http_token="tok", public_url=public)
    async with serve_http(settings, sock) as base, httpx2.AsyncClient() as http:
        unknown = await http.post(f"{base}/callbacks/evolink/not-a-token", json={"id": "x"})
        assert unknown.status_code == 404
        authed = httpx2.AsyncClient(headers={"Authorization": "Bearer tok"})
        async with authed, Client(streamable_http_client(f"{base}/mcp", http_client=authed)) as c:
            result = await c.call_tool("generate_image", {"prompt": "with a callback"})
            assert result.structured_content is not None
            assert result.structured_content["status"] == "completed"
            with anyio.fail_after(10):
                while sandbox.counters.callbacks_sent < 1:
                    await anyio.sleep(0.02)
    assert sandbox.counters.callbacks_sent == 1


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(ConfigError, match="IMAGEGEN_HTTP_TOKEN"):
        http_app(settings, host="0.0.0.0")  # noqa: S104  # the refusal is what is tested


async def test_callback_route_answers_503_before_the_engine_has_started(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, http_token="tok")
    # ASGITransport runs no lifespan: the app is as it is between binding and start-up.
    transport = httpx2.ASGITransport(app=http_app(settings, host="127.0.0.1"))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        early = await http.post("/callbacks/evolink/some-token", json={"id": "x"})
        assert early.status_code == 503
        assert early.json() == {"ok": False}
        # Only the callback path is exempt from the token.
        assert (await http.post("/mcp", json={})).status_code == 401
        assert (await http.get("/callbacks-not-really/x")).status_code == 401
