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
    credits_estimate: float | None = None  # None: the model's price is not known yet
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
        "resolution": (first.resolution, second.resolution),
        "quality": (first.quality, second.quality),
        "n": (first.count, second.count),
        "options": (first.options, second.options),
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


def credits_per_image(
    conn: sqlite3.Connection, priced_as: tuple[str, str | None, str | None, str]
) -> float | None:
    """What the upstream last reserved per image for a request priced as ``priced_as`` (model,
    tier, quality, extras: ``TaskRequest.priced_as``), from any process's tasks."""
    row = conn.execute(
        """SELECT credits_reserved / n FROM tasks WHERE model = ? AND resolution IS ?
           AND quality IS ? AND options = ? AND upstream_id IS NOT NULL AND credits_reserved > 0
           ORDER BY submitted_at DESC LIMIT 1""",
        priced_as,
    ).fetchone()
    return None if row is None else float(row[0])


def over_budget(spent: float, budget: float, estimate: float | None) -> str | None:
    """Why a request estimated at ``estimate`` credits does not fit, or None when it does."""
    if spent >= budget or (estimate is not None and spent + estimate > budget):
        needs = "" if estimate is None else f"; this request needs about {estimate:g}"
        return (
            f"Daily credit budget reached: {spent:g} of {budget:g} credits used in the last "
            f"24 hours{needs}. Wait, or raise IMAGEGEN_MAX_CREDITS_PER_DAY."
        )
    return None


def _check_budget(conn: sqlite3.Connection, now: float, intent: Intent, budget: float) -> None:
    """The credits reserved in any 24 h exceed the budget by at most one task's cost: a task is
    refused once the budget is spent, or when its estimate does not fit; while a model's price
    is unknown only one create for it may be in flight (its answer tells the price)."""
    spent = spent_since(conn, now - BUDGET_WINDOW)
    estimate = intent.credits_estimate
    refusal = over_budget(spent, budget, estimate)
    if refusal is not None:
        raise BudgetExceeded(refusal)
    if estimate is None:
        busy = conn.execute(
            """SELECT 1 FROM tasks WHERE model = ? AND status = 'submitting'
               AND credits_reserved = 0 AND id != ?""",
            (intent.request.model, intent.task_id),
        ).fetchone()
        if busy is not None:
            raise BudgetExceeded(
                f"The price of {intent.request.model} is not known yet and another task for it "
                "is being created: with a daily budget set, call again in a few seconds."
            )


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
        _check_budget(conn, now, intent, intent.daily_budget)
    task_id = intent.task_id
    if retry is not None:
        task_id = retry.id
        conn.execute(
            "UPDATE tasks SET status = 'submitting', error_code = NULL, error_message = NULL, "
            "error_retryable = NULL, sent_at = NULL, owner = ?, credits_reserved = ?, "
            "created_at = ?, updated_at = ? WHERE id = ? AND status = 'failed'",
            (intent.owner, intent.credits_estimate or 0.0, now, now, task_id),
        )
    else:
        request = intent.request
        conn.execute(
            """INSERT INTO tasks (id, client_request_id, callback_token, kind, prompt, model,
               size, resolution, quality, n, options, image_urls, mask_url, status,
               credits_reserved, created_at, updated_at, owner)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitting', ?, ?, ?, ?)""",
            (
                task_id,
                intent.client_request_id,
                intent.callback_token,
                request.kind,
                request.prompt,
                request.model,
                request.size or "",  # NOT NULL since 0001: "" is the model's default
                request.resolution,
                request.quality,
                request.count,
                json.dumps(request.options, sort_keys=True),
                json.dumps(request.image_urls),
                request.mask_url,
                intent.credits_estimate or 0.0,
                now,
                now,
                intent.owner,
            ),
        )
    task = find_task(conn, "SELECT * FROM tasks WHERE id = ?", (task_id,))
    assert task is not None  # written just above, in this transaction
    return task, True
