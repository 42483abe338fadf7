"""Resumable SSE streams: a call whose connection drops is still answered after a reconnect with
``Last-Event-ID``, over real HTTP; and the event store stays bounded and per session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.streamable_http import EventMessage
from mcp.types import JSONRPCNotification

from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.events import RETRY_MILLISECONDS, BoundedEventStore
from tests.conftest import FAST_POLLER, make_settings
from tests.server.conftest import initialize, serve_http
from tests.support.mcp_wire import HANDSHAKE, SSE_ACCEPT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def sse_events(response: httpx2.Response) -> AsyncIterator[dict[str, str]]:
    """The events of an SSE response as field dicts (``id``, ``retry``, ``data``...)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def answer_to(events: AsyncIterator[dict[str, str]], request_id: int) -> dict[str, Any]:
    async for event in events:
        message = json.loads(event["data"]) if event.get("data") else {}
        if message.get("id") == request_id:
            return message
    raise AssertionError(f"the stream ended without an answer to request {request_id}")


class Session:
    """A handshake-era MCP session spoken in raw HTTP."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url
        self.headers: dict[str, str] = {}

    async def open(self) -> None:
        opened = await initialize(self.http, self.url)
        assert opened.status_code == 200, opened.text
        self.headers = {
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": HANDSHAKE,
            **SSE_ACCEPT,
        }
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await self.http.post(self.url, json=done, headers=self.headers)).status_code == 202

    def call(self, request_id: int, tool: str, **arguments: Any) -> Any:
        body = {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }
        return self.http.stream("POST", self.url, json=body, headers=self.headers)

    def resume(self, last_event_id: str) -> Any:
        headers = {**self.headers, "Accept": "text/event-stream", "Last-Event-ID": last_event_id}
        return self.http.stream("GET", self.url, headers=headers)


async def test_a_dropped_call_is_answered_after_reconnecting_with_last_event_id(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.config.task_duration = 1000.0  # runs until the sandbox clock is advanced
    settings = make_settings(sandbox, tmp_path / "home")
    with anyio.fail_after(30):
        async with (
            serve_http(settings, poller=FAST_POLLER) as base,
            httpx2.AsyncClient(timeout=20) as http,
        ):
            one, two = Session(http, f"{base}/mcp"), Session(http, f"{base}/mcp")
            await one.open()
            await two.open()
            async with one.call(1, "generate_image", prompt="slow", wait_seconds=0) as started:
                task_id = (await answer_to(sse_events(started), 1))["result"]["structuredContent"][
                    "task_id"
                ]

            # Both sessions wait on the task under the same request id (each counts from 0).
            async with one.call(2, "get_task", task_id=task_id, wait_seconds=40) as dropped:
                assert dropped.status_code == 200
                first = await anext(sse_events(dropped))
            # The first event is a cursor to resume from, with the reconnect delay.
            assert first["id"] and first["retry"] == str(RETRY_MILLISECONDS)
            async with two.call(2, "get_task", task_id=task_id, wait_seconds=40) as other:
                other_events = sse_events(other)
                other_first = await anext(other_events)
                sandbox.advance(2000)
                other_answer = await answer_to(other_events, 2)
            assert other_answer["result"]["structuredContent"]["status"] == "completed"

            async with one.resume(first["id"]) as resumed:
                assert resumed.status_code == 200
                answer = await answer_to(sse_events(resumed), 2)
            assert answer["result"]["structuredContent"]["status"] == "completed"
            assert answer["result"]["structuredContent"]["task_id"] == task_id

            # An event id is good only in the session that received it.
            async with two.resume(first["id"]) as foreign:
                assert [e async for e in sse_events(foreign) if e.get("data")] == []
            async with one.resume(other_first["id"]) as foreign:
                assert [e async for e in sse_events(foreign) if e.get("data")] == []


async def test_the_event_store_keeps_the_newest_events_of_the_newest_streams() -> None:
    store = BoundedEventStore(max_streams=2, max_events=3)
    ids = {}
    for stream in ("a", "b", "c"):
        for n in range(5):
            note = JSONRPCNotification(jsonrpc="2.0", method="n", params={"n": n, "s": stream})
            ids[stream, n] = await store.store_event(stream, note)
    assert store.event_count() == 6  # two streams of three events

    replayed: list[EventMessage] = []

    async def collect(event: EventMessage) -> None:
        replayed.append(event)

    assert await store.replay_events_after(ids["a", 0], collect) is None  # evicted stream
    assert await store.replay_events_after(ids["c", 0], collect) == "c"  # its events 0-1 gone
    assert [e.event_id for e in replayed] == [ids["c", 2], ids["c", 3], ids["c", 4]]
    assert await store.replay_events_after("made-up.1", collect) is None
