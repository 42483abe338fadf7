"""A protocol task outlives its server: killed with SIGKILL while the task works, the server is
started again on the same state, and the host completes the same task by its handle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig
from tests.server.conftest import bound_socket
from tests.support.mcp_wire import HANDSHAKE, MODERN, TASKS_V1, TASKS_V2, WireClient

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def free_port() -> int:
    with bound_socket() as sock:
        return int(sock.getsockname()[1])


@contextmanager
def server(sb: Sandbox, home: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "EVOLINK_API_KEY": SANDBOX_API_KEY,
        "IMAGEGEN_API_BASE": sb.base_url,
        "IMAGEGEN_FILES_BASE": sb.base_url,
        "IMAGEGEN_HOME": str(home),
    }
    command = [sys.executable, "-m", "imagegen_mcp", "serve", "--transport", "http"]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()


async def connect(http: httpx2.AsyncClient, url: str, era: str) -> WireClient:
    """A client of the server at ``url`` once it answers (bounded)."""
    client = WireClient(http, url, era, TASKS_V1 if era == HANDSHAKE else TASKS_V2)
    with anyio.fail_after(30):
        while True:
            try:
                await client.open()
                return client
            except httpx2.TransportError:
                await anyio.sleep(0.05)


async def status_of(client: WireClient, handle: str) -> dict[str, Any]:
    return await client.request("tasks/get", {"taskId": handle})


async def test_a_task_survives_a_server_kill_and_completes_through_tasks_get_and_result(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    call = {"name": "generate_image", "arguments": {"prompt": "a fox at night", "n": 2}}
    async with (
        Sandbox(SandboxConfig(task_duration=30.0, seed=4)) as sb,
        httpx2.AsyncClient(timeout=60) as http,
    ):
        port = free_port()  # the same address before and after the restart
        url = f"http://127.0.0.1:{port}/mcp"
        with server(sb, home, port) as first:
            legacy = await connect(http, url, HANDSHAKE)
            v1 = (await legacy.request("tools/call", {**call, "task": {}}))["task"]["taskId"]
            modern = await connect(http, url, MODERN)
            v2 = (await modern.request("tools/call", call))["taskId"]
            assert (await status_of(legacy, v1))["status"] == "working"
            assert (await status_of(modern, v2))["status"] == "working"
            first.send_signal(signal.SIGKILL)
            first.wait()
            assert first.returncode == -signal.SIGKILL
        sb.advance(60)  # both finish upstream while no server runs

        with server(sb, home, port):
            legacy = await connect(http, url, HANDSHAKE)  # a new session: the old one died
            with anyio.fail_after(60):
                result = await legacy.request("tasks/result", {"taskId": v1})  # blocks till done
            assert (await status_of(legacy, v1))["status"] == "completed"
            view = result["structuredContent"]
            assert view["status"] == "completed" and len(view["images"]) == 2
            assert all(Path(img["path"]).is_file() for img in view["images"])

            modern = await connect(http, url, MODERN)
            with anyio.fail_after(60):
                while (task := await status_of(modern, v2))["status"] == "working":
                    await anyio.sleep(0.1)
            assert task["status"] == "completed"
            assert len(task["result"]["structuredContent"]["images"]) == 2
        assert sb.counters.creates == 2  # nothing paid twice across the restart
