"""Fixtures for the sandbox's own tests: sandboxes on loopback, plain HTTP clients, a receiver.

Everything talks real HTTP through httpx2 directly: these tests pin the emulator's wire
behaviour, independently of the project's client.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx2
import pytest
from PIL import Image

from imagegen_mcp.sandbox import Sandbox, SandboxConfig

StartSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def start_sandbox() -> AsyncIterator[StartSandbox]:
    """Start sandboxes with config overrides; all are stopped after the test."""
    started: list[Sandbox] = []

    async def start(**overrides: Any) -> Sandbox:
        sb = Sandbox(SandboxConfig(**{"task_duration": 1.0, **overrides}))
        await sb.start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        await sb.stop()


@pytest.fixture
async def sb(start_sandbox: StartSandbox) -> Sandbox:
    return await start_sandbox()


def client_for(sb: Sandbox, key: str | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        base_url=sb.base_url,
        headers={"Authorization": f"Bearer {key or sb.api_key}"},
        timeout=5.0,
        trust_env=False,
    )


@pytest.fixture
async def client(sb: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(sb) as c:
        yield c


def body(**overrides: Any) -> dict[str, Any]:
    """A valid create body, with overrides (None removes a field)."""
    base: dict[str, Any] = {"model": "gpt-4o-image", "prompt": "a red fox", "size": "1:1", "n": 1}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


async def create(client: httpx2.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/images/generations", json=body(**overrides))
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def finish(sb: Sandbox, client: httpx2.AsyncClient, task_id: str) -> dict[str, Any]:
    """Jump past the task's duration and read its terminal detail."""
    sb.advance(sb.config.task_duration * (1 + sb.config.duration_jitter) + 0.01)
    response = await client.get(f"/v1/tasks/{task_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) for sandbox state that changes in the sandbox's own tasks."""
    with anyio.fail_after(timeout):
        while not condition():  # the sandbox exposes no event to wait on
            await anyio.sleep(0.005)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def upload(client: httpx2.AsyncClient, data: bytes, name: str) -> str:
    """Upload ``data`` to the sandbox's files API; its ``file_url``."""
    response = await client.post(
        "/api/v1/files/upload/base64",
        json={"base64_data": base64.b64encode(data).decode(), "file_name": name},
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["data"]["file_url"]
    return url


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@dataclass
class Receiver:
    """A minimal HTTP server recording POSTs; answers with the next queued status (else 200)."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    _changed: anyio.Event | None = None

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        with anyio.fail_after(timeout):
            while len(self.received) < count:
                self._changed = anyio.Event()
                await self._changed.wait()

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head, _, rest = data.partition(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in header_lines)
            }
            length = int(headers.get("content-length", "0"))
            while len(rest) < length:
                rest += await stream.receive()
            self.received.append(
                {"path": request_line.split(" ")[1], "headers": headers, "json": json.loads(rest)}
            )
            if self._changed is not None:
                self._changed.set()
            status = self.statuses.pop(0) if self.statuses else 200
            await stream.send(
                f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - anyio, not Django
    rec = Receiver(url=f"http://127.0.0.1:{port}")
    # A bare asyncio task, not a task group: pytest-asyncio may tear down in another task.
    serving = asyncio.create_task(listener.serve(rec.handle))
    yield rec
    serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)
    await listener.aclose()
