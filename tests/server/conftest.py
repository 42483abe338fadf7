"""The HTTP app served by uvicorn on a real loopback socket (and as the ``mcp_url`` fixture,
with an ``http`` client), and a raw MCP handshake."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn

from imagegen_mcp.server.http import http_app
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.poller import PollerConfig
from tests.support.mcp_wire import CLIENT_INFO, HANDSHAKE, SSE_ACCEPT
from tests.support.settings import FAST_POLLER


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # sets TCP_NODELAY
    try:
        sock.bind((host, 0))
    except OSError as exc:
        sock.close()
        pytest.skip(f"cannot bind {host} here: {exc}")
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


@asynccontextmanager
async def serve_http(
    settings: Settings,
    sock: socket.socket | None = None,
    *,
    app_host: str | None = None,
    poller: PollerConfig | None = None,
    static_dir: Path | None = None,
    stop_within: int | None = None,
) -> AsyncIterator[str]:
    """Serve the app on ``sock`` (a fresh loopback one unless given), closed on exit so the next
    server can take the port; ``app_host`` is the bind address the app is told it has,
    ``static_dir`` the page folder it serves. ``stop_within`` bounds shutdown in seconds even
    while a page holds long polls open (uvicorn otherwise waits for them to be answered)."""
    sock = sock or bound_socket()
    app = http_app(
        settings, host=app_host or sock.getsockname()[0], poller=poller, static_dir=static_dir
    )
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=stop_within
    )
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.sleep(0.01)
            try:
                yield base_url(sock)
            finally:
                server.should_exit = True
    finally:
        sock.close()


@pytest.fixture
async def mcp_url(settings: Settings) -> AsyncIterator[str]:
    """The app's /mcp endpoint, served for the test's ``settings`` with the fast poller."""
    async with serve_http(settings, poller=FAST_POLLER) as base:
        yield f"{base}/mcp"


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30) as client:
        yield client


def initialize_body(request_id: int = 0) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            # The handshake era (sessions, GET streams, resumption); the SDK's client speaks
            # the per-request 2026 era by default.
            "protocolVersion": HANDSHAKE,
            "capabilities": {},
            "clientInfo": CLIENT_INFO,
        },
    }


async def initialize(http: httpx2.AsyncClient, url: str, **headers: str) -> httpx2.Response:
    """A raw handshake-era initialize POST (answered as SSE); the session id is in its headers."""
    return await http.post(url, json=initialize_body(), headers={**SSE_ACCEPT, **headers})
