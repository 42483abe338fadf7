"""The intent row: a task recorded before its create is paid for, checked against the daily
budget and the caller's idempotency key in the same transaction (run on the store's thread)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from imagegen_mcp.errors import CREATE_NOT_SENT, BudgetExceeded, InputError
from imagegen_mcp.models import Task, TaskRequest
from imagegen_mcp.storage.rows import find_task

BUDGET_WINDOW = 24 * 3600.0


@dataclass(frozen=True)
class Intent:
    """A task about to be created. ``owner`` names the process about to send the create (see
    ``storage.owner``); with a ``daily_budget`` the credits of the last 24 hours plus
    ``credits_estimate`` must fit in it."""

    task_id: str
    request: TaskRequest
    client_request_id: str | None = None
    callback_token: str | None = None
    credits_estimate: float = 0.0
    daily_budget: float | None = None
    owner: str | None = None


def _differences(first: TaskRequest, second: TaskRequest) -> list[str]:
    """The arguments in which two requests differ as paid work (uploaded input URLs may differ
    between two uploads of the same image, so only their count and the mask's presence count)."""
    shapes = {
        "kind": (first.kind, second.kind),
        "prompt": (first.prompt, second.prompt),
        "model": (first.model, second.model),
        "size": (first.size, second.size),
        "n": (first.n, second.n),
        "number of input images": (len(first.image_urls), len(second.image_urls)),
        "mask": (first.mask_url is None, second.mask_url is None),
    }
    return [name for name, (a, b) in shapes.items() if a != b]


def spent_since(conn: sqlite3.Connection, since: float) -> float:
    """Credits reserved by tasks created since ``since``; rejected creates (failed, never given
    an upstream id) cost nothing."""
    row = conn.execute(
        """SELECT COALESCE(SUM(credits_reserved), 0) FROM tasks
           WHERE created_at >= ? AND NOT (status = 'failed' AND upstream_id IS NULL)""",
        (since,),
    ).fetchone()
    return float(row[0])


def record_intent(conn: sqlite3.Connection, now: float, intent: Intent) -> tuple[Task, bool]:
    """Insert the ``submitting`` row, inside the caller's transaction. Returns (task, created).

    With a known ``client_request_id`` the existing task comes back and nothing is created,
    unless that task's create was never sent (``create_not_sent``): then the same task is made
    ready to send again (failed -> submitting), with the request it was first recorded with.
    """
    retry: Task | None = None
    if intent.client_request_id is not None:
        known = find_task(
            conn, "SELECT * FROM tasks WHERE client_request_id = ?", (intent.client_request_id,)
        )
        if known is not None:
            differ = _differences(known.request, intent.request)
            if differ:
                raise InputError(
                    f"client_request_id {intent.client_request_id!r} was used for another request "
                    f"(task {known.id}; different {', '.join(differ)}). Call again with the same "
                    "arguments to get that task, or use a new client_request_id."
                )
            never_sent = known.error is not None and known.error.code == CREATE_NOT_SENT
            if known.status != "failed" or not never_sent:
                return known, False
            retry = known
    if intent.daily_budget is not None:
        spent = spent_since(conn, now - BUDGET_WINDOW)
        if spent + intent.credits_estimate > intent.daily_budget:
            raise BudgetExceeded(
                f"Daily credit budget reached: {spent:g} of {intent.daily_budget:g} credits used "
                "in the last 24 hours. Wait, or raise IMAGEGEN_MAX_CREDITS_PER_DAY."
            )
    task_id = intent.task_id
    if retry is not None:
        task_id = retry.id
        conn.execute(
            "UPDATE tasks SET status = 'submitting', error_code = NULL, error_message = NULL, "
            "error_retryable = NULL, sent_at = NULL, owner = ?, credits_reserved = ?, "
            "created_at = ?, updated_at = ? WHERE id = ? AND status = 'failed'",
            (intent.owner, intent.credits_estimate, now, now, task_id),
        )
    else:
        request = intent.request
        conn.execute(
            """INSERT INTO tasks (id, client_request_id, callback_token, kind, prompt, model,
               size, n, image_urls, mask_url, status, credits_reserved, created_at, updated_at,
               owner)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitting', ?, ?, ?, ?)""",
            (
                task_id,
                intent.client_request_id,
                intent.callback_token,
                request.kind,
                request.prompt,
                request.model,
                request.size,
                request.n,
                json.dumps(request.image_urls),
                request.mask_url,
                intent.credits_estimate,
                now,
                now,
                intent.owner,
            ),
        )
    task = find_task(conn, "SELECT * FROM tasks WHERE id = ?", (task_id,))
    assert task is not None  # written just above, in this transaction
    return task, True
