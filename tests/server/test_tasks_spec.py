"""Protocol tasks held to the letter of both specifications, over real streamable HTTP against
the sandbox: what a client that did not negotiate tasks gets, what ``tasks/list`` shows, the
2026-07-28 extension's errors and acknowledgements, and terminal states that never change."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from imagegen_mcp.errors import CREATE_NOT_SENT, StorageError
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.service.schedule import PollPolicy
from imagegen_mcp.storage.handles import HandleStore
from tests.conftest import make_settings
from tests.server.conftest import serve_http
from tests.support.mcp_wire import (
    HANDSHAKE,
    MODERN,
    TASKS_V1,
    TASKS_V2,
    WireClient,
    WireError,
    opened,
    until_status,
)
from tests.support.requester import run_requester

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CALL = {"name": "generate_image", "arguments": {"prompt": "a fox"}}
#: Polls 20 s apart: nothing about a 30 s task changes while a test looks.
SLOW_POLLER = PollerConfig(policy=PollPolicy(near_interval=20, min_interval=20, max_interval=20))


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    # Long enough that a task is still working when the test looks; tests advance the clock.
    return SandboxConfig(task_duration=30.0, seed=7)


async def create(client: WireClient) -> str:
    """A task-backed generate_image call in the client's era; the handle id."""
    if client.era == HANDSHAKE:
        return str((await client.request("tools/call", {**CALL, "task": {}}))["task"]["taskId"])
    return str((await client.request("tools/call", CALL))["taskId"])


async def test_a_2025_client_that_declares_nothing_still_gets_a_task_as_the_requester_expects(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    # 2025-11-25: the receiver's declaration is what counts; hosts built on the official
    # requester declare no client ``tasks`` capability and must still get their task.
    plain = await opened(http, mcp_url, HANDSHAKE, {})
    made = await plain.request("tools/call", {**CALL, "task": {}})
    assert made["task"]["status"] == "working" and "content" not in made
    with pytest.raises(WireError) as refused:
        await plain.request("tools/call", {"name": "list_models", "task": {}})
    assert refused.value.code == -32601


async def test_tasks_list_shows_every_task_tasks_get_reaches_whichever_session_made_it(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    # "If a task is retrievable via tasks/get for a requestor, it MUST be retrievable via
    # tasks/list for that requestor": a new session (after a restart, or a second window of
    # the same host) reaches its creator's handles by id, so it lists them too.
    first = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    second = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    handle = await create(first)
    assert (await second.request("tasks/get", {"taskId": handle}))["status"] == "working"
    listed = await second.request("tasks/list", {})
    assert handle in [task["taskId"] for task in listed["tasks"]]


async def test_a_2026_request_without_the_extension_is_refused_the_task_methods(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    handle = await create(await opened(http, mcp_url, MODERN, TASKS_V2))
    undeclared = WireClient(http, mcp_url, MODERN, {})
    extras: dict[str, dict[str, Any]] = {"tasks/update": {"inputResponses": {}}}
    for method in ("tasks/get", "tasks/cancel", "tasks/update"):
        extra = extras.get(method, {})
        with pytest.raises(WireError) as refused:
            await undeclared.request(method, {"taskId": handle, **extra})
        assert refused.value.code == -32021, method
        assert refused.value.data == {
            "requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}
        }
        assert "io.modelcontextprotocol/tasks" in refused.value.message


async def test_tasks_update_is_acknowledged_for_a_task_that_never_asks_for_input(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    client = await opened(http, mcp_url, MODERN, TASKS_V2)
    handle = await create(client)
    ack = await client.request("tasks/update", {"taskId": handle, "inputResponses": {"k": {}}})
    assert ack["resultType"] == "complete" and set(ack) <= {"resultType", "_meta"}
    with pytest.raises(WireError) as unknown:
        await client.request("tasks/update", {"taskId": "no-such-task", "inputResponses": {}})
    assert unknown.value.code == -32602


async def test_tasks_result_of_a_cancelled_task_answers_at_once_with_the_task_as_it_is(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    # Cancelled is terminal: tasks/result must not block (it blocks only while non-terminal).
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    handle = await create(client)
    await client.request("tasks/cancel", {"taskId": handle})
    with anyio.fail_after(10):
        result = await client.request("tasks/result", {"taskId": handle})
    assert result["structuredContent"]["status"] in {"pending", "processing", "submitting"}
    assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": handle}


def _set_task(db: str, task_id: str, **columns: Any) -> None:
    """Write a task row as another process would (a restart's recovery, a resend)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        sets = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(
            f"UPDATE tasks SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608  # test names
            (*columns.values(), time.time(), task_id),
        )
    finally:
        conn.close()


@pytest.mark.parametrize("era", [HANDSHAKE, MODERN])
async def test_a_task_once_ended_stays_ended_when_its_never_sent_create_is_sent_again(
    era: str, http: httpx2.AsyncClient, mcp_url: str, settings: Settings, sandbox: Sandbox
) -> None:
    # A restart settles a create that never left as failed / create_not_sent; a later call with
    # the same client_request_id sends that same task again. The handle that read failed must
    # keep reading failed (terminal states never change), saying where the task went.
    client = await opened(http, mcp_url, era, TASKS_V1 if era == HANDSHAKE else TASKS_V2)
    handle = await create(client)
    first = await client.request("tasks/get", {"taskId": handle})
    task_id = first["statusMessage"].split("(task ")[1].rstrip(")")
    never_sent = "The server stopped before this task's create was sent: nothing was charged."
    _set_task(
        str(settings.db_path),
        task_id,
        status="failed",
        error_code=CREATE_NOT_SENT,
        error_message=never_sent,
        error_retryable=1,
    )
    ended = await until_status(client, handle, "failed", "completed")
    assert never_sent in ended["statusMessage"]
    _set_task(str(settings.db_path), task_id, status="processing", error_code=None)
    sandbox.advance(60)
    again = await client.request("tasks/get", {"taskId": handle})
    assert again["status"] == ended["status"] and again["lastUpdatedAt"] == ended["lastUpdatedAt"]
    assert never_sent in again["statusMessage"] and "went on" in again["statusMessage"]
    if era == HANDSHAKE:
        assert ended["status"] == "failed"
        with anyio.fail_after(10):
            result = await client.request("tasks/result", {"taskId": handle})
        assert result["isError"] is True and never_sent in result["content"][0]["text"]
    else:
        # 2026-07-28: a tool error is "completed" with the isError result, never "failed".
        assert ended["status"] == "completed" and again["result"]["isError"] is True


async def test_many_concurrent_task_backed_calls_each_get_their_own_task_and_complete(
    http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    legacy = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    modern = await opened(http, mcp_url, MODERN, TASKS_V2)
    handles: list[tuple[WireClient, str]] = []

    async def one(client: WireClient) -> None:
        handles.append((client, await create(client)))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(24):
                tg.start_soon(one, legacy if i % 2 else modern)
    assert len({handle for _, handle in handles}) == 24
    assert sandbox.counters.creates == 24
    sandbox.advance(60)
    for client, handle in handles:
        assert (await until_status(client, handle, "completed", "failed"))["status"] == "completed"
    listed = await legacy.request("tasks/list", {})
    assert len(listed["tasks"]) == 24  # both generations' handles: one creator (local)


@pytest.mark.parametrize("era", [HANDSHAKE, MODERN])
async def test_the_official_requester_reads_a_failed_generation_as_each_spec_says(
    era: str, tmp_path: Path
) -> None:
    # 2025-11-25: failed, with the error text; 2026-07-28: completed with the isError result
    # (the extension's failed is for JSON-RPC errors). The library validates every shape.
    async with Sandbox(SandboxConfig(task_duration=1.0, seed=3)) as sb:
        sb.config.faults.fail_tasks = 1
        settings = make_settings(sb, tmp_path / "home")
        line = await run_requester(
            settings, era, "generate_image", {"prompt": "a lighthouse at dusk"}
        )
    assert line["kind"] == "task" and line["statuses"][0] == "working"
    if era == HANDSHAKE:
        assert line["outcome"] == "failed" and "sandbox fault" in line["error"]
    else:
        assert line["outcome"] == "completed" and line["result"]["isError"] is True
        assert line["result"]["structuredContent"]["status"] == "failed"


async def test_a_cancel_answers_a_waiting_tasks_result_and_is_heard_at_once(
    http: httpx2.AsyncClient, settings: Settings
) -> None:
    # A tasks/result already blocked when the task is cancelled answers then (cancelled is
    # terminal), and the status notification says cancelled then: not at the task's next
    # change, which with real poll intervals is many seconds away.
    async with serve_http(settings, poller=SLOW_POLLER) as base:
        await _cancel_while_waiting(http, f"{base}/mcp")


async def _cancel_while_waiting(http: httpx2.AsyncClient, mcp_url: str) -> None:
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    listen = {**client.headers, "Accept": "text/event-stream"}
    heard: list[str] = []
    answered: list[dict[str, Any]] = []
    async with http.stream("GET", mcp_url, headers=listen) as stream:
        handle = await create(client)

        async def wait_for_result() -> None:
            answered.append(await client.request("tasks/result", {"taskId": handle}))

        with anyio.fail_after(8):  # the result slice is 30 s
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_for_result)
                await anyio.sleep(0.5)  # let it block first
                await client.request("tasks/cancel", {"taskId": handle})
                async for line in stream.aiter_lines():
                    message = json.loads(line[5:]) if line.startswith("data:") and line[5:] else {}
                    if message.get("method") == "notifications/tasks/status":
                        heard.append(message["params"]["status"])
                        if heard[-1] == "cancelled":
                            break
    assert heard[-1] == "cancelled"
    assert answered[0]["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": handle}


async def test_a_waiting_tasks_result_does_not_hold_the_server_up_at_shutdown(
    settings: Settings,
) -> None:
    # The waiter's connection ends with the server (the handle outlives it: after a restart
    # tasks/result answers, test_tasks_restart); the server stops at once, not at the task's end.
    ended: list[BaseException] = []
    async with httpx2.AsyncClient(timeout=60) as http:

        async def wait_for_result(client: WireClient, handle: str) -> None:
            try:
                await client.request("tasks/result", {"taskId": handle})
            except (httpx2.TransportError, WireError) as exc:
                ended.append(exc)

        with anyio.fail_after(15):  # the task itself takes 30 s
            async with (
                anyio.create_task_group() as tg,
                serve_http(settings, poller=SLOW_POLLER) as base,
            ):
                client = await opened(http, f"{base}/mcp", HANDSHAKE, TASKS_V1)
                tg.start_soon(wait_for_result, client, await create(client))
                await anyio.sleep(0.5)  # let it block first
    assert len(ended) == 1


async def test_a_client_older_than_2025_11_25_gets_no_tasks_at_all(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    # Tasks came with 2025-11-25: an older client's answers are exactly what they always were.
    older = WireClient(http, mcp_url, "2025-06-18", {})
    assert "tasks" not in (await older.open())["capabilities"]
    listed = await older.request("tools/list", {})
    assert not any("execution" in tool for tool in listed["tools"])
    quick = {"name": "generate_image", "arguments": {"prompt": "a fox", "wait_seconds": 0}}
    made = await older.request("tools/call", {**quick, "task": {}})
    assert "task" not in made and made["structuredContent"]["task_id"].startswith("ig-")


async def test_a_2026_call_for_a_task_already_ended_is_answered_with_its_result(
    http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    # A repeated client_request_id of a task that has ended: the answer is the result itself
    # (isError here), never a task reading "failed" that tasks/get would then call "completed".
    client = await opened(http, mcp_url, MODERN, TASKS_V2)
    call = {
        "name": "generate_image",
        "arguments": {
            "prompt": "a fox [fail:generation_failed_no_content]",
            "client_request_id": "fox-once",
        },
    }
    first = await client.request("tools/call", call)
    assert first["resultType"] == "task"
    sandbox.advance(60)
    ended = await until_status(client, first["taskId"], "completed")
    assert ended["result"]["isError"] is True
    again = await client.request("tools/call", call)
    assert again["resultType"] == "complete" and again["isError"] is True
    assert again["structuredContent"]["task_id"] == ended["result"]["structuredContent"]["task_id"]


@pytest.mark.parametrize("era", [HANDSHAKE, MODERN])
async def test_a_handle_that_cannot_be_recorded_leaves_the_paid_task_named_in_the_answer(
    era: str,
    http: httpx2.AsyncClient,
    mcp_url: str,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The create is paid before the handle is written: if writing it fails, the host gets the
    # tool's own answer naming the task (get_task follows it), not an error inviting a retry.
    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise StorageError("The state database is read-only.")

    monkeypatch.setattr(HandleStore, "add", broken)
    client = await opened(http, mcp_url, era, TASKS_V1 if era == HANDSHAKE else TASKS_V2)
    quick = {"name": "generate_image", "arguments": {"prompt": "a fox", "wait_seconds": 0}}
    answer = await client.request(
        "tools/call", {**quick, "task": {}} if era == HANDSHAKE else quick
    )
    assert "task" not in answer and answer.get("resultType", "complete") == "complete"
    assert answer["structuredContent"]["task_id"].startswith("ig-")
    assert not answer.get("isError") and sandbox.counters.create_requests == 1
