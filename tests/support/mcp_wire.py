"""Raw JSON-RPC over streamable HTTP in either protocol era, for methods the SDK's client does
not speak (``tasks/*``, task-augmented ``tools/call``)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import anyio
import httpx2

HANDSHAKE = "2025-11-25"
MODERN = "2026-07-28"
SSE_ACCEPT = {"Accept": "application/json, text/event-stream"}
CLIENT_INFO = {"name": "tests", "version": "1"}
#: A client's capabilities with tasks: 2025-11-25's ``tasks``, 2026-07-28's extension.
TASKS_V1: dict[str, Any] = {
    "tasks": {"requests": {"tools": {"call": {}}}, "list": {}, "cancel": {}}
}
TASKS_V2: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}}


class WireError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = str(error.get("message"))
        self.data = error.get("data")


async def _answer(response: httpx2.Response, request_id: int) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("application/json"):
        # 2026-07-28 sends an error with an HTTP error status: the error is the answer.
        message = response.json()
        if "error" in message:
            raise WireError(message["error"])
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 200, response.text
        message = {}
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                candidate = json.loads(line[5:])
                if candidate.get("id") == request_id:
                    message = candidate
    if "error" in message:
        raise WireError(message["error"])
    assert "result" in message, message
    result: dict[str, Any] = message["result"]
    return result


class WireClient:
    """One client in one era: ``HANDSHAKE`` opens a session; ``MODERN`` frames every request
    with its envelope. ``capabilities`` are the client's (tasks or the tasks extension)."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        url: str,
        era: str,
        capabilities: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.http, self.url, self.era, self.capabilities = http, url, era, capabilities
        self.headers = {**SSE_ACCEPT, **(headers or {})}
        self.ids = itertools.count(1)

    async def open(self) -> dict[str, Any]:
        if self.era == MODERN:
            return await self.request("server/discover", {})
        body = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": self.era,  # HANDSHAKE, or an older handshake version
                "capabilities": self.capabilities,
                "clientInfo": CLIENT_INFO,
            },
        }
        opened = await self.http.post(self.url, json=body, headers=self.headers)
        result = await _answer(opened, 0)
        self.headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        self.headers["mcp-protocol-version"] = self.era
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await self.http.post(self.url, json=done, headers=self.headers)).status_code == 202
        return result

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self.ids)
        headers = dict(self.headers)
        if self.era == MODERN:
            headers["mcp-protocol-version"] = MODERN
            headers["mcp-method"] = method
            if method == "tools/call":
                headers["mcp-name"] = params["name"]
            params = {
                **params,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
                    "io.modelcontextprotocol/clientCapabilities": self.capabilities,
                },
            }
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        return await _answer(await self.http.post(self.url, json=body, headers=headers), request_id)


async def opened(http: httpx2.AsyncClient, url: str, era: str, caps: dict[str, Any]) -> WireClient:
    """A ``WireClient`` that has opened its session (or discovered the server)."""
    client = WireClient(http, url, era, caps)
    await client.open()
    return client


async def until_status(client: WireClient, handle: str, *statuses: str) -> dict[str, Any]:
    """``tasks/get`` for ``handle`` once its status is one of ``statuses``."""
    with anyio.fail_after(20):
        while True:
            task = await client.request("tasks/get", {"taskId": handle})
            if task["status"] in statuses:
                return task
            await anyio.sleep(0.05)
