"""Callbacks: POSTed once a task is terminal, with the upstream's retry schedule."""

from __future__ import annotations

from tests.sandbox.conftest import Receiver, StartSandbox, client_for, create, eventually

FAST_RETRIES = (0.01, 0.02, 0.04)


async def test_completed_task_posts_its_detail_to_the_callback_url(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    sb = await start_sandbox(callback_retry_delays=FAST_RETRIES)
    async with client_for(sb) as client:
        created = await create(client, n=2, callback_url=f"{receiver.url}/hooks/abc123")
        sb.advance(0.5)
        assert receiver.received == []  # not before the task is terminal
        sb.advance(1.0)
        await receiver.wait_for(1)
        await eventually(lambda: sb.counters.callbacks_sent == 1)
        polled = (await client.get(f"/v1/tasks/{created['id']}")).json()
    (call,) = receiver.received
    assert call["path"] == "/hooks/abc123"
    assert call["headers"]["content-type"] == "application/json"
    assert call["json"] == polled
    assert call["json"]["status"] == "completed"
    assert len(call["json"]["results"]) == 2
    assert "authorization" not in call["headers"]
    assert sb.counters.callbacks_sent == 1
    assert sb.tasks[created["id"]].callback_delivered


async def test_failed_task_posts_its_error(start_sandbox: StartSandbox, receiver: Receiver) -> None:
    sb = await start_sandbox(callback_retry_delays=FAST_RETRIES)
    async with client_for(sb) as client:
        await create(client, prompt="x [fail:service_error]", callback_url=receiver.url + "/h")
        sb.advance(2.0)
        await receiver.wait_for(1)
    body = receiver.received[0]["json"]
    assert body["status"] == "failed"
    assert body["error"]["code"] == "service_error"


async def test_callback_is_retried_until_a_2xx(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    sb = await start_sandbox(callback_retry_delays=FAST_RETRIES)
    receiver.statuses = [500, 503]
    async with client_for(sb) as client:
        task_id = (await create(client, callback_url=receiver.url + "/h"))["id"]
        sb.advance(2.0)
        await receiver.wait_for(3)
        await eventually(lambda: sb.tasks[task_id].callback_delivered)
    assert sb.counters.callback_attempts == 3
    assert sb.counters.callbacks_sent == 1
    assert sb.tasks[task_id].callback_delivered


async def test_callback_gives_up_after_three_retries(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    sb = await start_sandbox(callback_retry_delays=FAST_RETRIES)
    receiver.statuses = [500] * 10
    async with client_for(sb) as client:
        task_id = (await create(client, callback_url=receiver.url + "/h"))["id"]
        sb.advance(2.0)
        # Given up: the sandbox counts the delivery failed, and no attempt can follow.
        await eventually(lambda: sb.counters.callbacks_failed == 1)
    assert len(receiver.received) == 4
    assert sb.counters.callback_attempts == 4
    assert sb.counters.callbacks_sent == 0
    assert not sb.tasks[task_id].callback_delivered


async def test_callbacks_fire_in_real_time_too(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    sb = await start_sandbox(task_duration=0.05, callback_retry_delays=FAST_RETRIES)
    async with client_for(sb) as client:
        await create(client, callback_url=receiver.url + "/h")
        await receiver.wait_for(1)
    assert receiver.received[0]["json"]["status"] == "completed"


async def test_no_callback_without_callback_url(
    start_sandbox: StartSandbox, receiver: Receiver
) -> None:
    sb = await start_sandbox(callback_retry_delays=FAST_RETRIES)
    async with client_for(sb) as client:
        silent = (await create(client))["id"]
        # Due at the same moment and created later: once its callback is in, the dispatcher
        # has been through the first task too.
        loud = (await create(client, callback_url=receiver.url + "/h"))["id"]
        sb.advance(2.0)
        await receiver.wait_for(1)
        await eventually(lambda: sb.counters.callbacks_sent == 1)
    assert [call["json"]["id"] for call in receiver.received] == [loud]
    assert sb.counters.callback_attempts == 1
    assert sb.tasks[silent].callback_attempts == 0
