"""Protocol tasks over real streamable HTTP against the sandbox: the official requester in both
protocol generations, what a host without tasks sees, status, cancel, and visibility."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.storage.handles import HandleStore
from tests.conftest import FAST_POLLER, make_settings
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

PAID = {"generate_image", "edit_image"}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    # Long enough that a task is still working when the test looks; tests advance the clock.
    return SandboxConfig(task_duration=30.0, seed=5)


@pytest.mark.parametrize("era", [HANDSHAKE, MODERN])
async def test_the_official_requester_gets_the_images_of_a_task_in_both_protocol_generations(
    era: str, tmp_path: Path
) -> None:
    async with Sandbox(SandboxConfig(task_duration=1.0, seed=2)) as sb:
        settings = make_settings(sb, tmp_path / "home")
        args = {"prompt": "a lighthouse at dusk", "n": 2}
        line = await run_requester(settings, era, "generate_image", args)
        assert line["kind"] == "task" and len(line["taskId"]) >= 22
        assert line["statuses"][0] == "working" and line["statuses"][-1] == "completed"
        assert line["outcome"] == "completed"
        result = line["result"]
        view = result["structuredContent"]
        assert view["status"] == "completed" and line["taskId"] != view["task_id"]
        kinds = [block["type"] for block in result["content"]]
        assert kinds.count("image") == 2 and kinds.count("resource_link") == 2
        assert all(Path(img["path"]).is_file() for img in view["images"])
        assert sb.counters.creates == 1  # one task paid, however often it was polled


async def test_every_2025_host_is_offered_tasks_on_the_paid_tools_and_a_2026_host_sees_no_change(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    # The receiver declares tasks (the spec): a host's own ``tasks`` capability is about what
    # it receives, and the official requester declares none, so both are offered the same.
    plain_client = WireClient(http, mcp_url, HANDSHAKE, {})
    tasks_client = WireClient(http, mcp_url, HANDSHAKE, TASKS_V1)
    plain_init, tasks_init = await plain_client.open(), await tasks_client.open()
    assert plain_init == tasks_init
    assert plain_init["capabilities"]["tasks"] == {
        "list": {},
        "cancel": {},
        "requests": {"tools": {"call": {}}},
    }
    plain = await plain_client.request("tools/list", {})
    assert json.dumps(plain) == json.dumps(await tasks_client.request("tools/list", {}))
    stamped = {t["name"]: t.get("execution") for t in plain["tools"]}
    assert stamped == {
        name: {"taskSupport": "optional"} if name in PAID else None for name in stamped
    }
    # 2026-07-28: tasks are an extension the host names per request; tools/list is unchanged.
    modern = await (await opened(http, mcp_url, MODERN, TASKS_V2)).request("tools/list", {})
    bare = await (await opened(http, mcp_url, MODERN, {})).request("tools/list", {})
    assert not any("execution" in tool for tool in modern["tools"])
    assert json.dumps(modern, sort_keys=True) == json.dumps(bare, sort_keys=True)
    for tool in plain["tools"]:
        tool.pop("execution", None)
    assert {t["name"]: t for t in plain["tools"]} == {t["name"]: t for t in modern["tools"]}


async def test_a_tool_that_answers_at_once_is_never_a_task(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    with pytest.raises(WireError) as refused:
        await client.request("tools/call", {"name": "list_models", "task": {}})
    assert refused.value.code == -32601 and "without the task field" in refused.value.message
    answer = await client.request("tools/call", {"name": "list_models", "arguments": {}})
    assert "content" in answer  # without the field: answered at once, as always
    modern = await opened(http, mcp_url, MODERN, TASKS_V2)
    answer = await modern.request("tools/call", {"name": "list_models", "arguments": {}})
    assert answer["resultType"] == "complete"


async def test_a_task_reads_working_with_progress_until_every_image_is_saved(
    http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    created = await client.request(
        "tools/call",
        {"name": "generate_image", "arguments": {"prompt": "a fox", "n": 2}, "task": {}},
    )
    task = created["task"]
    assert task["status"] == "working" and "% overall (task ig-" in task["statusMessage"]
    assert 1000 <= task["pollInterval"] <= 20000 and task["ttl"] == 7 * 24 * 3600 * 1000
    sandbox.advance(60)
    done = await until_status(client, task["taskId"], "completed", "failed")
    assert done["status"] == "completed" and done["statusMessage"].startswith("Done: 2 image(s)")
    result = await client.request("tasks/result", {"taskId": task["taskId"]})
    assert result["structuredContent"]["status"] == "completed"
    assert len(result["structuredContent"]["images"]) == 2
    related = result["_meta"]["io.modelcontextprotocol/related-task"]
    assert related == {"taskId": task["taskId"]}
    # Exactly what get_task answers for the same task.
    our_id = result["structuredContent"]["task_id"]
    get_task = {"name": "get_task", "arguments": {"task_id": our_id}}
    same = await client.request("tools/call", get_task)
    assert same["structuredContent"] == result["structuredContent"]
    assert same["content"] == result["content"]


async def test_a_2025_11_25_host_hears_each_status_change_on_its_session_stream(
    http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    heard: list[dict[str, Any]] = []
    listen = {**client.headers, "Accept": "text/event-stream"}
    async with http.stream("GET", mcp_url, headers=listen) as stream:
        assert stream.status_code == 200
        call = {"name": "generate_image", "arguments": {"prompt": "a fox"}, "task": {}}
        handle = (await client.request("tools/call", call))["task"]["taskId"]
        sandbox.advance(60)
        with anyio.fail_after(20):
            async for line in stream.aiter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") and line[5:] else {}
                if message.get("method") == "notifications/tasks/status":
                    heard.append(message["params"])
                    if message["params"]["status"] != "working":
                        break
    assert {note["taskId"] for note in heard} == {handle}
    assert heard[-1]["status"] == "completed" and "Done: 1 image(s)" in heard[-1]["statusMessage"]
    assert all(note["status"] == "working" for note in heard[:-1])


@pytest.mark.parametrize("era", [HANDSHAKE, MODERN])
async def test_a_failed_task_carries_the_error_text_in_both_protocol_generations(
    era: str, http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    sandbox.config.faults.fail_tasks = 1
    client = await opened(http, mcp_url, era, TASKS_V1 if era == HANDSHAKE else TASKS_V2)
    call = {"name": "generate_image", "arguments": {"prompt": "a fox"}}
    created = await client.request("tools/call", {**call, "task": {}} if era == HANDSHAKE else call)
    handle = created["task"]["taskId"] if era == HANDSHAKE else created["taskId"]
    sandbox.advance(60)
    failed = await until_status(client, handle, "completed", "failed")
    assert "generation_failed_no_content" in failed["statusMessage"]
    assert "sandbox fault" in failed["statusMessage"]
    if era == MODERN:
        # The extension keeps "failed" for JSON-RPC errors: a tool error is a completed task
        # whose result has isError.
        assert failed["status"] == "completed" and failed["result"]["isError"] is True
        assert failed["result"]["structuredContent"]["status"] == "failed"
    else:
        assert failed["status"] == "failed"
        result = await client.request("tasks/result", {"taskId": handle})
        assert result["isError"] is True and result["structuredContent"]["status"] == "failed"


async def test_a_call_refused_before_any_task_is_a_failed_task_carrying_the_refusal(
    http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    call = {"name": "generate_image", "arguments": {"prompt": "a fox", "model": "no-such-model"}}
    created = await client.request("tools/call", {**call, "task": {}})
    assert created["task"]["status"] == "failed"
    assert "no-such-model" in created["task"]["statusMessage"]
    result = await client.request("tasks/result", {"taskId": created["task"]["taskId"]})
    assert result["isError"] is True and "no-such-model" in result["content"][0]["text"]
    assert sandbox.counters.creates == 0
    # On 2026-07-28 there is nothing to follow: the refusal comes back as it is.
    modern = await opened(http, mcp_url, MODERN, TASKS_V2)
    refused = await modern.request("tools/call", call)
    assert refused["resultType"] == "complete" and refused["isError"] is True


async def test_a_2026_host_is_asked_before_paying_and_gets_a_task_once_it_accepts(
    http: httpx2.AsyncClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "asking", confirm_above_credits=0.5)
    async with serve_http(settings, poller=FAST_POLLER) as base:
        asking = {**TASKS_V2, "elicitation": {"form": {}}}
        client = await opened(http, f"{base}/mcp", MODERN, asking)
        call = {"name": "generate_image", "arguments": {"prompt": "a fox"}}
        asked = await client.request("tools/call", call)
        assert asked["resultType"] == "input_required" and sandbox.counters.creates == 0
        (key, question), *_ = asked["inputRequests"].items()
        assert question["method"] == "elicitation/create"
        answer = {key: {"action": "accept", "content": {"proceed": True}}}
        created = await client.request(
            "tools/call", {**call, "inputResponses": answer, "requestState": asked["requestState"]}
        )
        assert created["resultType"] == "task" and created["status"] == "working"
        assert sandbox.counters.creates == 1


async def test_cancel_says_the_work_goes_on_charged_and_its_images_are_still_saved(
    http: httpx2.AsyncClient, mcp_url: str, sandbox: Sandbox
) -> None:
    client = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    call = {"name": "generate_image", "arguments": {"prompt": "a fox"}}
    handle = (await client.request("tools/call", {**call, "task": {}}))["task"]["taskId"]
    cancelled = await client.request("tasks/cancel", {"taskId": handle})
    assert cancelled["status"] == "cancelled"
    for words in ("cannot be stopped", "still charged", "still saved", "get_task('ig-"):
        assert words in cancelled["statusMessage"]
    sandbox.advance(60)
    our_id = cancelled["statusMessage"].split("get_task('")[1].split("'")[0]
    saved = await client.request(
        "tools/call", {"name": "get_task", "arguments": {"task_id": our_id, "wait_seconds": 20}}
    )
    assert saved["structuredContent"]["status"] == "completed"
    assert Path(saved["structuredContent"]["images"][0]["path"]).is_file()
    # Once cancelled, always cancelled (the spec); a second cancel has nothing to cancel.
    assert (await client.request("tasks/get", {"taskId": handle}))["status"] == "cancelled"
    with pytest.raises(WireError) as again:
        await client.request("tasks/cancel", {"taskId": handle})
    assert again.value.code == -32602 and "already cancelled" in again.value.message

    # 2026-07-28: the cancel is acknowledged and the task runs to its real end.
    modern = await opened(http, mcp_url, MODERN, TASKS_V2)
    handle = (await modern.request("tools/call", call))["taskId"]
    acknowledged = await modern.request("tasks/cancel", {"taskId": handle})
    assert acknowledged["resultType"] == "complete" and set(acknowledged) == {"resultType", "_meta"}
    working = await modern.request("tasks/get", {"taskId": handle})
    assert working["status"] == "working" and "cannot be stopped" in working["statusMessage"]
    sandbox.advance(60)
    done = await until_status(modern, handle, "completed", "failed", "cancelled")
    assert done["status"] == "completed" and done["result"]["structuredContent"]["images"]


async def test_task_ids_are_unguessable_and_listed_only_to_their_creator(
    http: httpx2.AsyncClient, mcp_url: str
) -> None:
    first = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    second = await opened(http, mcp_url, HANDSHAKE, TASKS_V1)
    call = {"name": "generate_image", "arguments": {"prompt": "a fox"}, "task": {}}
    handles = [(await first.request("tools/call", call))["task"]["taskId"] for _ in range(3)]
    assert len(set(handles)) == 3 and all(len(h) == 22 and "ig-" not in h for h in handles)
    listed = await first.request("tasks/list", {})
    assert [t["taskId"] for t in listed["tasks"]] == handles[::-1]  # newest first
    other = WireClient(http, mcp_url, HANDSHAKE, TASKS_V1, headers={"Authorization": "Bearer x"})
    await other.open()  # another bearer: another creator (no token is set: any is let in)
    assert (await other.request("tasks/list", {}))["tasks"] == []
    # The TTL a host asks for is kept, within a minute and 30 days.
    for asked, kept in ((120_000, 120_000), (1, 60_000), (10**12, 30 * 24 * 3600 * 1000)):
        created = await second.request("tools/call", {**call, "task": {"ttl": asked}})
        assert created["task"]["ttl"] == kept
    with pytest.raises(WireError) as unknown:
        await second.request("tasks/get", {"taskId": handles[0][:-1] + "x"})
    assert unknown.value.code == -32602 and "No task" in unknown.value.message
    with pytest.raises(WireError) as stale:
        await first.request("tasks/list", {"cursor": "no-such-handle"})
    assert stale.value.code == -32602 and "cursor" in stale.value.message


async def test_a_handle_keeps_the_hash_of_the_token_it_was_made_with_never_the_token(
    http: httpx2.AsyncClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    token = "a-long-secret-token-for-tests"
    settings = make_settings(sandbox, tmp_path / "home", http_token=token)
    async with serve_http(settings, poller=FAST_POLLER) as base:
        auth = {"Authorization": f"Bearer {token}"}
        client = WireClient(http, f"{base}/mcp", HANDSHAKE, TASKS_V1, headers=auth)
        await client.open()
        call = {"name": "generate_image", "arguments": {"prompt": "a fox"}, "task": {}}
        handle = (await client.request("tools/call", call))["task"]["taskId"]
        assert (await client.request("tasks/get", {"taskId": handle}))["status"] == "working"
    creator = "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    store = await HandleStore.open(settings.db_path)
    try:
        found = await store.get(handle, creator)
        assert found is not None and await store.get(handle, "local") is None
    finally:
        await store.aclose()
    for part in settings.db_path.parent.glob(f"{settings.db_path.name}*"):  # -wal too
        assert token.encode() not in part.read_bytes()


async def test_a_handle_answers_only_its_creator_and_only_until_its_ttl(tmp_path: Path) -> None:
    from imagegen_mcp.storage.handles import TaskHandle

    now = [1000.0]
    store = await HandleStore.open(tmp_path / "state.db", clock=lambda: now[0])
    try:
        handle = TaskHandle(
            id="h1",
            task_id=None,
            tool="generate_image",
            creator="token:abc",
            session=None,
            preview="thumbnail",
            error="refused",
            created_at=now[0],
            ttl_ms=60_000,
        )
        await store.add(handle)
        assert await store.get("h1", "token:abc") == handle
        assert await store.get("h1", "token:other") is None
        assert await store.get("h1", "local") is None
        now[0] += 61
        assert await store.get("h1", "token:abc") is None
        assert await store.page("token:abc", after=None, limit=10) == []
    finally:
        await store.aclose()
