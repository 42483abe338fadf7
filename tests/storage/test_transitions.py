"""The task lifecycle as the store enforces it: every status change ``models.TRANSITIONS``
allows can be written, by the writer named for it, and no other can be written at all."""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import get_args

import pytest

from imagegen_mcp.errors import CREATE_NOT_SENT
from imagegen_mcp.models import TRANSITIONS, Task, TaskError, TaskRequest, TaskStatus
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.intents import Intent

STATUSES: tuple[TaskStatus, ...] = get_args(TaskStatus)
ERROR = TaskError(code="x", message="x", retryable=False)
NOT_SENT = TaskError(code=CREATE_NOT_SENT, message="never sent", retryable=True)

Writer = Callable[[TaskStore, str], Awaitable[Task | None]]

#: Every TaskStore method that writes a status, with the status it writes.
WRITERS: dict[str, tuple[TaskStatus | None, Writer]] = {
    "settle_create failed": (
        "failed",
        lambda s, t: s.settle_create(t, "failed", NOT_SENT, owner=None, sent=False),
    ),
    "settle_create unknown": (
        "unknown",
        lambda s, t: s.settle_create(t, "unknown", ERROR, owner=None, sent=False),
    ),
    "record_accepted pending": (
        "pending",
        lambda s, t: s.record_accepted(
            t,
            upstream_id=f"up-{t}",
            status="pending",
            progress=0,
            credits_reserved=1,
            estimated_time=None,
        ),
    ),
    "record_accepted processing": (
        "processing",
        lambda s, t: s.record_accepted(
            t,
            upstream_id=f"up-{t}",
            status="processing",
            progress=5,
            credits_reserved=1,
            estimated_time=None,
        ),
    ),
    "record_progress pending": ("pending", lambda s, t: s.record_progress(t, "pending", 1)),
    "record_progress processing": (
        "processing",
        lambda s, t: s.record_progress(t, "processing", 50),
    ),
    "record_results": ("processing", lambda s, t: s.record_results(t, ["u"], expires_at=9e9)),
    "finish completed": ("completed", lambda s, t: s.finish(t, "completed")),
    "finish failed": ("failed", lambda s, t: s.finish(t, "failed", ERROR)),
    "finish expired": ("expired", lambda s, t: s.finish(t, "expired", ERROR)),
    "note_error": (None, lambda s, t: s.note_error(t, ERROR)),  # keeps the status
}
#: Public TaskStore methods that never change a status.
OTHERS = {
    "open",
    "aclose",
    "create_intent",  # tested below: None -> submitting, failed (never sent) -> submitting
    "mark_sent",
    "add_image",
    "get",
    "get_by_callback_token",
    "open_tasks",
    "recent",
    "status_counts",
    "spent_since",
    "spent_in_budget_window",
    "credits_per_image",
    "cached_upload",
    "remember_upload",
    "duration_ratios",
    "learn_duration",
}


def _put(db: Path, task_id: str, status: TaskStatus) -> None:
    """Force a row into ``status`` behind the store's back (the setup, not the code under test)."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tasks SET status = ? WHERE id = ?", (status, task_id))


async def test_every_status_writer_is_known() -> None:
    public = {
        name
        for name, member in inspect.getmembers(TaskStore)
        if not name.startswith("_") and callable(member)
    }
    written = {name.split()[0] for name in WRITERS}
    assert public == written | OTHERS, "a new TaskStore method: add it to WRITERS or OTHERS"


@pytest.mark.parametrize("start", STATUSES)
async def test_only_the_allowed_transitions_can_be_written(
    tmp_path: Path, start: TaskStatus
) -> None:
    db = tmp_path / "state.db"
    store = await TaskStore.open(db)
    try:
        for i, (name, (target, write)) in enumerate(WRITERS.items()):
            task_id = f"ig-{i:012d}"
            await store.create_intent(Intent(task_id, TaskRequest(prompt="p")))
            _put(db, task_id, start)
            before = await store.get(task_id)
            written = await write(store, task_id)
            after = await store.get(task_id)
            assert before is not None and after is not None
            if target is None:
                allowed = start in ("pending", "processing")
            else:
                allowed = target in TRANSITIONS[start]
            if allowed:
                assert written is not None, f"{name}: {start} -> {target} was refused"
                assert after.status == (target or start)
            else:
                assert written is None, f"{name}: {start} -> {target} was written"
                assert after == before, f"{name} changed a {start} task it did not move"
    finally:
        await store.aclose()


async def test_every_allowed_transition_has_a_writer() -> None:
    writable = {target for target, _ in WRITERS.values()}
    for start, targets in TRANSITIONS.items():
        for target in targets:
            if start is None or (start == "failed" and target == "submitting"):
                continue  # create_intent's, tested below
            assert target in writable, f"{start} -> {target} is allowed but nothing writes it"


async def test_intents_start_submitting_and_only_a_never_sent_create_goes_back(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    store = await TaskStore.open(db)
    try:
        for i, start in enumerate(STATUSES):
            crid = f"crid-{i}"
            task, created = await store.create_intent(
                Intent(f"ig-{i:012d}", TaskRequest(prompt="p"), client_request_id=crid)
            )
            assert created and task.status == "submitting"
            _put(db, task.id, start)
            again, created = await store.create_intent(
                Intent("ig-new", TaskRequest(prompt="p"), client_request_id=crid)
            )
            assert not created and again.status == start and again.id == task.id
        # failed -> submitting only for a create that was never sent.
        task, _ = await store.create_intent(
            Intent("ig-notsent0000", TaskRequest(prompt="p"), client_request_id="crid-x")
        )
        assert await store.settle_create(task.id, "failed", NOT_SENT, owner=None, sent=False)
        again, created = await store.create_intent(
            Intent("ig-new", TaskRequest(prompt="p"), client_request_id="crid-x")
        )
        assert created and again.id == task.id and again.status == "submitting"
    finally:
        await store.aclose()
