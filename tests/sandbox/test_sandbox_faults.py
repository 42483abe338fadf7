"""Fault injection: queued statuses, drops, ambiguous creates, broken downloads, rates, failures."""

from __future__ import annotations

import time

import httpx2
import pytest

from imagegen_mcp.sandbox import ErrorStyle, Faults, Sandbox
from tests.sandbox.conftest import StartSandbox, body, create, finish

GENERATIONS = "/v1/images/generations"


async def read_into(response: httpx2.Response, sink: list[bytes]) -> None:
    async for chunk in response.aiter_raw():
        sink.append(chunk)


STATUS_ERRORS = {
    429: ("rate_limit_exceeded", "rate_limit_error"),
    500: ("internal_error", "internal_server_error"),
    502: ("upstream_error", "upstream_error"),
    503: ("service_unavailable", "service_unavailable_error"),
}


async def test_queued_statuses_answer_with_the_envelope_in_both_styles(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    sb.faults.retry_after = 7
    styles: tuple[ErrorStyle, ...] = ("new", "old")
    for style in styles:
        sb.config.error_style = style
        for status, (code, error_type) in STATUS_ERRORS.items():
            sb.faults.queue("create", status)
            response = await client.post(GENERATIONS, json=body())
            assert response.status_code == status
            error = response.json()["error"]
            assert error["code"] == (code if style == "new" else status)
            assert error["type"] == error_type
            assert response.headers.get("retry-after") == ("7" if status == 429 else None)
    assert sb.counters.creates == 0
    assert sb.counters.create_requests == 8
    assert (await client.post(GENERATIONS, json=body())).status_code == 200


async def test_faults_fire_in_queue_order_then_stop(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    task_id = (await create(client))["id"]
    sb.faults.queue("get", 503, times=2)
    sb.faults.queue("get", 429)
    assert sb.faults.pending("get") == 3
    statuses = [(await client.get(f"/v1/tasks/{task_id}")).status_code for _ in range(4)]
    assert statuses == [503, 503, 429, 200]
    assert sb.counters.task_gets == 4


async def test_faults_on_credits_and_uploads_use_their_routes_envelopes(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    sb.faults.queue("credits", 500)
    sb.faults.queue("upload", 429)
    credits = await client.get("/v1/credits")
    upload = await client.post("/api/v1/files/upload/base64", json={"base64_data": "eA=="})
    assert credits.status_code == 500
    assert credits.json()["error"]["code"] == "internal_error"
    assert upload.status_code == 429
    assert upload.json() == {"success": False, "code": 429, "msg": upload.json()["msg"]}
    assert upload.headers["retry-after"] == "1"
    assert sb.counters.uploads == 1


def test_faults_refuse_kinds_that_do_not_fit_the_route() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="does not apply"):
        faults.queue("get", "truncate")
    with pytest.raises(ValueError, match="does not apply"):
        faults.queue("download", "create_then_502")
    with pytest.raises(ValueError, match="unknown route"):
        faults.queue("poll", 500)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="4xx or 5xx"):
        faults.queue("get", 200)
    assert faults.pending("get") == 0


async def test_dropped_create_never_creates_a_task(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.queue("create", "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post(GENERATIONS, json=body())
    assert (sb.counters.create_requests, sb.counters.creates) == (1, 0)
    assert len(sb.tasks) == 0


async def test_create_then_502_is_ambiguous_the_task_exists_and_is_charged(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    sb.faults.queue("create", "create_then_502")
    response = await client.post(GENERATIONS, json=body(n=2))
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"
    assert (sb.counters.create_requests, sb.counters.creates) == (1, 1)
    (task,) = sb.tasks.values()
    assert task.credits_reserved == 5.0
    assert sb.remaining_credits == sb.config.credits - 5.0
    detail = await finish(sb, client, task.id)
    assert detail["status"] == "completed"


async def test_create_then_drop_creates_the_task_and_drops_the_answer(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    sb.faults.queue("create", "create_then_drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post(GENERATIONS, json=body())
    assert (sb.counters.create_requests, sb.counters.creates) == (1, 1)
    assert len(sb.tasks) == 1


async def test_dropped_get_and_download_break_the_connection(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    detail = await finish(sb, client, (await create(client))["id"])
    sb.faults.queue("get", "drop")
    sb.faults.queue("credits", "drop")
    sb.faults.queue("download", "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get(f"/v1/tasks/{detail['id']}")
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get("/v1/credits")
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get(detail["results"][0])
    # The client recovers on a fresh connection.
    assert (await client.get(detail["results"][0])).status_code == 200
    assert sb.counters.downloads == 2


async def test_truncated_download_announces_the_full_length_and_sends_half(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    detail = await finish(sb, client, (await create(client))["id"])
    full = (await client.get(detail["results"][0])).content
    sb.faults.queue("download", "truncate")
    received: list[bytes] = []
    async with client.stream("GET", detail["results"][0]) as response:
        assert int(response.headers["content-length"]) == len(full)
        with pytest.raises(httpx2.RemoteProtocolError):
            await read_into(response, received)
    assert b"".join(received) == full[: len(full) // 2]


async def test_slow_download_streams_the_whole_image_in_delayed_chunks(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    detail = await finish(sb, client, (await create(client))["id"])
    full = (await client.get(detail["results"][0])).content
    sb.faults.slow_chunk_size = len(full) // 4 + 1
    sb.faults.slow_chunk_delay = 0.05
    sb.faults.queue("download", "slow")
    started = time.monotonic()
    chunks = 0
    received = b""
    async with client.stream("GET", detail["results"][0]) as response:
        assert int(response.headers["content-length"]) == len(full)
        async for chunk in response.aiter_raw():
            chunks += 1
            received += chunk
    assert received == full
    assert chunks >= 2
    assert time.monotonic() - started >= 3 * 0.05 * 0.9


async def test_rates_fault_a_share_of_requests_reproducibly(start_sandbox: StartSandbox) -> None:
    outcomes: list[list[int | str]] = []
    for _ in range(2):
        sb = await start_sandbox(seed=42)
        sb.faults.rates = {"get": {503: 0.3, "drop": 0.2}}
        async with httpx2.AsyncClient(
            base_url=sb.base_url,
            headers={"Authorization": f"Bearer {sb.api_key}"},
            trust_env=False,
        ) as client:
            task_id = (await create(client))["id"]
            seen: list[int | str] = []
            for _ in range(40):
                try:
                    seen.append((await client.get(f"/v1/tasks/{task_id}")).status_code)
                except httpx2.RemoteProtocolError:
                    seen.append("drop")
        outcomes.append(seen)
    first = outcomes[0]
    assert first == outcomes[1]  # same seed, same faults
    assert {200, 503, "drop"} <= set(first)
    assert 4 <= first.count(503) <= 22
    sb.faults.rates = {"get": {503: 1.0}}
    async with httpx2.AsyncClient(base_url=sb.base_url, trust_env=False) as client:
        response = await client.get(
            f"/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {sb.api_key}"}
        )
    assert response.status_code == 503


async def test_download_rates_truncate(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    detail = await finish(sb, client, (await create(client))["id"])
    sb.faults.rates = {"download": {"truncate": 1.0}}
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.get(detail["results"][0])
    sb.faults.clear()
    assert (await client.get(detail["results"][0])).status_code == 200


async def test_fail_tasks_fails_the_next_tasks_with_the_configured_error(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    sb.faults.fail_tasks = 2
    sb.faults.fail_code = "resource_exhausted"
    sb.faults.fail_message = "no GPUs"
    ids = [(await create(client, prompt=f"p{i}"))["id"] for i in range(3)]
    sb.advance(2.0)
    details = [(await client.get(f"/v1/tasks/{task_id}")).json() for task_id in ids]
    assert [detail["status"] for detail in details] == ["failed", "failed", "completed"]
    assert details[0]["error"] == {
        "code": "resource_exhausted",
        "message": "no GPUs",
        "type": "task_error",
    }
    assert "results" not in details[0]
    assert details[0]["task_info"] == {"can_cancel": False}
    assert sb.faults.fail_tasks == 0
    assert sb.tasks[ids[0]].status == "failed"


async def test_a_fail_tag_in_the_prompt_fails_that_task_with_its_code(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    task_id = (await create(client, prompt="a cat [fail:content_policy_violation]"))["id"]
    assert (await client.get(f"/v1/tasks/{task_id}")).json()["status"] == "pending"
    detail = await finish(sb, client, task_id)
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "content_policy_violation"
    assert detail["error"]["type"] == "task_error"
