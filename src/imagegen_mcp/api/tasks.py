"""EvoLink's task API: create a generation task, read one back.

A create makes paid work and has no idempotency key: it is resent only when it certainly
created nothing (``retries.never_sent``); once it may have arrived, a lost answer raises
``AmbiguousCreate`` and is never resent, and a create refused until the retries ran out raises
``CreateNotSent``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from imagegen_mcp.api.errors import ambiguous_create
from imagegen_mcp.api.ratelimit import Priority
from imagegen_mcp.api.retries import NotSent, never_sent
from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.api.session import Session
from imagegen_mcp.errors import CreateNotSent, RateLimited, UpstreamUnavailable
from imagegen_mcp.redact import redact


async def create_task(
    session: Session,
    api_base: str,
    body: dict[str, Any],
    *,
    before_send: Callable[[], Awaitable[None]] | None = None,
) -> UpstreamTask:
    what = "Creating the task"
    url = f"{api_base}/v1/images/generations"
    try:
        async for attempt in session.attempts(never_sent):
            with attempt:
                response = await session.send(
                    "POST", url, what, create=True, before_send=before_send, json=body
                )
    except (NotSent, RateLimited) as exc:
        said = str(exc) if isinstance(exc, NotSent) else f"{exc} Nothing was created."
        raise CreateNotSent(said) from exc
    try:
        return _redacted(UpstreamTask.model_validate(response.json()), session)
    except ValueError as exc:
        raise ambiguous_create(what, "an unreadable answer") from exc


async def get_task(
    session: Session, api_base: str, upstream_id: str, *, priority: Priority = Priority.URGENT
) -> UpstreamTask:
    what = f"Checking task {upstream_id}"
    url = f"{api_base}/v1/tasks/{upstream_id}"
    data = await session.json("GET", url, what, priority=priority)
    try:
        return _redacted(UpstreamTask.model_validate(data), session)
    except ValueError as exc:
        raise UpstreamUnavailable(f"{what}: unexpected answer from EvoLink.") from exc


def _redacted(task: UpstreamTask, session: Session) -> UpstreamTask:
    """A task failure's text comes from the upstream: keep secrets out of it."""
    if task.error is not None:
        task.error.message = redact(task.error.message, session.secrets)
    return task
