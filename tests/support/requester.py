"""The official TypeScript Tasks requester (``tests/support/tasks_requester``) run against the
real HTTP app: what a host built on the official SDK sees of a task-backed tool call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.needs import node_with_requester
from tests.support.settings import FAST_POLLER

REQUESTER = Path(__file__).parent / "tasks_requester"


async def run_requester(
    settings: Settings, era: str, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """Call ``tool`` through the requester in protocol ``era``; the JSON line it ends with."""
    node = node_with_requester(REQUESTER)
    async with serve_http(settings, poller=FAST_POLLER) as base:
        command = [node, "requester.mjs", f"{base}/mcp", era, tool, json.dumps(arguments)]
        with anyio.fail_after(90):
            done = await anyio.run_process(command, cwd=REQUESTER, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    line: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return line
