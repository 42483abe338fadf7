"""Sending a create and settling it when its answer never came: crash recovery of another
process's creates, compare-and-set on "sent", never a second paid create."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from imagegen_mcp.errors import InputError
from imagegen_mcp.models import TaskError
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.service.engine import TaskEngine
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.intents import Intent
from imagegen_mcp.storage.owner import owner_of
from tests.storage.test_owner import finished_process_owner
from tests.support.settings import FAST_POLLER, WAIT, make_settings, req

NOT_SENT = TaskError(code="create_not_sent", message="never sent", retryable=True)


def test_creates_of_a_dead_process_are_settled_at_once_and_never_resent(tmp_path: Path) -> None:
    """No 300 s wait when the process that recorded a create is known dead: one it never sent
    fails as create_not_sent, one that may be on the wire becomes 'unknown'; a live owner's task
    is left alone. Nothing is sent by the new process on its own; the same client_request_id
    sends a never-sent task again, once."""

    async def scenario() -> None:
        async with Sandbox(SandboxConfig(task_duration=0.2)) as sb:
            settings = make_settings(sb, tmp_path / "home")
            live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            dead = finished_process_owner()
            try:
                store = await TaskStore.open(settings.db_path)
                await store.create_intent(Intent("ig-sent0000000", req("lost"), owner=dead))
                assert await store.mark_sent("ig-sent0000000", dead)
                await store.create_intent(
                    Intent(
                        "ig-unsent00000", req("never sent"), owner=dead, client_request_id="crid-1"
                    )
                )
                await store.create_intent(
                    Intent("ig-live0000000", req("busy"), owner=owner_of(live.pid))
                )
                await store.aclose()
                async with open_engine(settings, poller=FAST_POLLER) as engine:
                    with anyio.fail_after(WAIT):
                        task = await engine.wait("ig-sent0000000", WAIT)
                        unsent = await engine.wait("ig-unsent00000", WAIT)
                    assert task.status == "unknown"
                    assert task.error is not None and "may have been created" in task.error.message
                    assert unsent.status == "failed" and unsent.error is not None
                    assert unsent.error.code == "create_not_sent"
                    assert (await engine.get("ig-live0000000")).status == "submitting"
                    assert sb.counters.create_requests == 0
                    # The agent calls again with the same client_request_id: the same task is
                    # sent (a different request under that id is refused); a third call sends
                    # nothing.
                    with pytest.raises(InputError, match="was used for another request"):
                        await engine.submit(req("changed"), client_request_id="crid-1")
                    again = await engine.submit(req("never sent"), client_request_id="crid-1")
                    assert again.id == "ig-unsent00000"
                    with anyio.fail_after(WAIT):
                        done = await engine.wait(again.id, WAIT)
                    assert done.status == "completed" and len(done.images) == 1
                    await engine.submit(req("never sent"), client_request_id="crid-1")
            finally:
                live.kill()
                live.wait()
            assert sb.counters.create_requests == 1
            assert [t.params.prompt for t in sb.tasks.values()] == ["never sent"]

    anyio.run(scenario)


async def test_a_create_taken_over_by_another_process_is_not_sent(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    """If another process settled the task before it went on the wire, it is not sent."""
    real_mark = engine.store.mark_sent

    async def settled_first(task_id: str, owner: str | None) -> bool:
        settled = await engine.store.settle_create(
            task_id, "failed", NOT_SENT, owner=owner, sent=False
        )
        assert settled is not None
        return await real_mark(task_id, owner)

    engine.store.mark_sent = settled_first  # type: ignore[method-assign]
    task = await engine.submit(req("contested"))
    assert task.status == "failed"
    assert sandbox.counters.create_requests == 0


async def test_a_failure_before_sending_settles_the_task_as_not_sent(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    """A store error while recording 'sent' must not leave an orphan a later start resends."""
    from imagegen_mcp.errors import StorageError

    async def locked(task_id: str, owner: str | None) -> bool:
        raise StorageError("database is locked")

    engine.store.mark_sent = locked  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        await engine.submit(req("unlucky"))
    (task,) = await engine.recent()
    assert task.status == "failed" and task.error is not None
    assert task.error.code == "create_not_sent"
    assert sandbox.counters.create_requests == 0


async def test_settling_a_failed_create_never_touches_another_process_s_retry(
    engine: TaskEngine,
) -> None:
    """mark_sent fails here while another process has taken the task and sent it: our error
    must not settle its row (a later retry would send a second create)."""
    from imagegen_mcp.errors import StorageError

    store = engine.store
    real_mark = store.mark_sent

    async def taken_then_locked(task_id: str, owner: str | None) -> bool:
        await store.settle_create(task_id, "failed", NOT_SENT, owner=owner, sent=False)
        await store.create_intent(
            Intent("ig-other000000", req("x"), client_request_id="crid-2", owner="o:1:1")
        )  # the same crid, retried elsewhere: the row is reset and owned by "o:1:1"
        assert await real_mark(task_id, "o:1:1")
        raise StorageError("database is locked")

    store.mark_sent = taken_then_locked  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        await engine.submit(req("x"), client_request_id="crid-2")
    (task,) = await engine.recent()
    assert task.status == "submitting" and task.owner == "o:1:1"


async def test_an_error_after_the_create_may_have_left_settles_it_unknown(
    engine: TaskEngine,
) -> None:
    async def sent_then_bug(body: object, *, before_send: Any) -> object:
        await before_send()
        raise RuntimeError("a bug after sending")

    engine.client.create_task = sent_then_bug  # type: ignore[method-assign, assignment]
    with pytest.raises(RuntimeError):
        await engine.submit(req("maybe paid"))
    (task,) = await engine.recent()
    assert task.status == "unknown" and task.error is not None
    assert "may have been created" in task.error.message
