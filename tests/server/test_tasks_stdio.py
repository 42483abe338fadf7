"""Protocol tasks over stdio (2025-11-25): a host on this machine gets a task at once, hears its
status change, and fetches the same result ``get_task`` gives."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig
from tests.support.mcp_wire import CLIENT_INFO, HANDSHAKE, TASKS_V1

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class StdioPeer:
    """JSON-RPC lines to and from a server process; notifications are kept as they pass."""

    def __init__(self, proc: Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.lines = TextReceiveStream(proc.stdout)
        self.buffer = ""
        self.notes: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.send((json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode())

    async def receive(self) -> dict[str, Any]:
        while "\n" not in self.buffer:
            self.buffer += await self.lines.receive()
        line, self.buffer = self.buffer.split("\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    async def request(self, request_id: int, method: str, params: dict[str, Any]) -> Any:
        await self.send({"id": request_id, "method": method, "params": params})
        while True:
            message = await self.receive()
            if message.get("id") == request_id:
                assert "result" in message, message
                return message["result"]
            if "method" in message:
                self.notes.append(message)


async def test_a_stdio_host_gets_a_task_hears_its_status_and_fetches_its_result(
    tmp_path: Path,
) -> None:
    async with Sandbox(SandboxConfig(task_duration=2.0, seed=6)) as sb:
        env = {
            **os.environ,
            "EVOLINK_API_KEY": SANDBOX_API_KEY,
            "IMAGEGEN_API_BASE": sb.base_url,
            "IMAGEGEN_FILES_BASE": sb.base_url,
            "IMAGEGEN_HOME": str(tmp_path / "home"),
        }
        command = [sys.executable, "-m", "imagegen_mcp", "serve"]
        async with await anyio.open_process(command, env=env, stderr=None) as proc:
            peer = StdioPeer(proc)
            with anyio.fail_after(60):
                init = {
                    "protocolVersion": HANDSHAKE,
                    "capabilities": TASKS_V1,
                    "clientInfo": CLIENT_INFO,
                }
                opened = await peer.request(0, "initialize", init)
                assert "tasks" in opened["capabilities"]
                await peer.send({"method": "notifications/initialized"})
                call = {"name": "generate_image", "arguments": {"prompt": "a fox"}, "task": {}}
                task = (await peer.request(1, "tools/call", call))["task"]
                assert task["status"] == "working"
                result = await peer.request(2, "tasks/result", {"taskId": task["taskId"]})
                view = result["structuredContent"]
                get_task = {"name": "get_task", "arguments": {"task_id": view["task_id"]}}
                same = await peer.request(3, "tools/call", get_task)
                while not any(n["params"]["status"] == "completed" for n in peer.notes):
                    peer.notes.append(await peer.receive())
            proc.terminate()
        assert view["status"] == "completed" and Path(view["images"][0]["path"]).is_file()
        assert same["structuredContent"] == view
        statuses = [n["params"] for n in peer.notes if n["method"] == "notifications/tasks/status"]
        assert statuses[-1]["taskId"] == task["taskId"] and statuses[-1]["status"] == "completed"
