"""The task engine: submit, wait, look up. The MCP tools, the CLI and the HTTP app all use it.

Guarantees: the intent is on disk before the create POST; a create with an ambiguous outcome is
never resent (the task becomes ``unknown``); a repeated ``client_request_id`` returns the
existing task instead of paying again; a daily credit budget refuses new tasks once reached;
the background poller saves every result whether or not anyone waits; cancelling a wait never
cancels the task.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.errors import (
    AmbiguousCreate,
    InputError,
    TaskNotFound,
    UpstreamError,
)
from imagegen_mcp.models import MODELS, Task, TaskError, TaskRequest
from imagegen_mcp.service.poller import Poller, PollerConfig, unanswered_create, upstream_status
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.files import ImageSaver
from imagegen_mcp.storage.owner import current_owner

log = logging.getLogger(__name__)


_RECORD_ATTEMPTS = 5


class _NotOurs(Exception):
    """mark_sent found the task settled by another process: the create must not be sent."""


ProgressCallback = Callable[[Task], Awaitable[None]]


@dataclass(frozen=True)
class EngineConfig:
    poller: PollerConfig = field(default_factory=PollerConfig)
    daily_budget: float | None = None
    public_url: str | None = None  # where upstream callbacks can reach our HTTP app


def new_task_id() -> str:
    return "ig-" + secrets.token_hex(6)


def callback_path(token: str) -> str:
    return f"/callbacks/evolink/{token}"


def validate_request(request: TaskRequest) -> None:
    """Refuse, before anything is paid, what the chosen model cannot do."""
    if not request.prompt.strip():
        raise InputError(
            "The prompt is empty (only spaces): pass a description of the image in words."
        )
    spec = MODELS.get(request.model)
    if spec is None:
        raise InputError(
            f"Unknown model {request.model!r}. Use one of: {', '.join(sorted(MODELS))}."
        )
    if request.size not in spec.sizes:
        raise InputError(f"{spec.name} does not support size {request.size!r}.")
    if request.n not in spec.counts:
        raise InputError(f"{spec.name} makes {spec.counts} images per task, not {request.n}.")
    if len(request.image_urls) > spec.max_references:
        raise InputError(f"{spec.name} takes at most {spec.max_references} reference images.")
    if len(request.prompt) > spec.max_prompt_chars:
        raise InputError(f"The prompt is longer than {spec.max_prompt_chars} characters.")
    if request.mask_url is not None:
        if not spec.supports_mask:
            raise InputError(f"{spec.name} does not support masks; use gpt-4o-image.")
        if len(request.image_urls) != 1:
            raise InputError("A mask edits exactly one image: pass one base image with the mask.")


class TaskEngine:
    def __init__(
        self,
        store: TaskStore,
        client: EvoLinkClient,
        saver: ImageSaver,
        config: EngineConfig | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.saver = saver
        self.config = config or EngineConfig()
        self._events: dict[str, anyio.Event] = {}
        self._credits_per_image: dict[str, float] = {}
        self.poller = Poller(store, client, saver, self._notify, self.config.poller)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TaskEngine]:
        """Run the background poller (resuming open tasks) for the life of the block."""
        await self.saver.prepare()
        await self.poller.resume()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.poller.run)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # The poller never raises, so a group holds the caller's own error: give it back
            # unwrapped, as if no task group were involved.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    # --- submit -----------------------------------------------------------------------------

    async def submit(self, request: TaskRequest, *, client_request_id: str | None = None) -> Task:
        """Create an upstream task (or return the one with the same ``client_request_id``).

        Raises ``InputError``, ``BudgetExceeded`` or ``UpstreamError`` when nothing was created.
        An ambiguous create returns the task with status ``unknown`` and never resends it.
        """
        validate_request(request)
        token = secrets.token_urlsafe(24) if self.config.public_url else None
        estimate = self._credits_per_image.get(request.model, 0.0) * request.n
        task, created = await self.store.create_intent(
            new_task_id(),
            request,
            client_request_id=client_request_id,
            callback_token=token,
            credits_estimate=estimate,
            daily_budget=self.config.daily_budget,
            owner=current_owner(),
        )
        if not created:
            return task
        # Once the POST may be on the wire its outcome must be recorded, even if our caller
        # gives up: shield the create and its bookkeeping from cancellation.
        with anyio.CancelScope(shield=True):
            task = await self._create(task, self._body(task.request, task.callback_token))
        return task  # noqa: RET504  # returning inside the shield confuses mypy's flow analysis

    def _body(self, request: TaskRequest, token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "size": request.size,
            "n": request.n,
        }
        if request.image_urls:
            body["image_urls"] = list(request.image_urls)
        if request.mask_url:
            body["mask_url"] = request.mask_url
        if token and self.config.public_url:
            body["callback_url"] = self.config.public_url + callback_path(token)
        return body

    async def _create(self, task: Task, body: dict[str, Any]) -> Task:
        owner = task.owner or current_owner()
        sent = False

        async def mark_sent() -> None:
            # Until this is recorded the create has certainly not left: if we die, the task is
            # settled 'failed' (never sent) and the same client_request_id may send it again.
            # After it, a crash leaves the outcome unknown.
            nonlocal sent
            if sent:
                return
            if not await self.store.mark_sent(task.id, owner):
                raise _NotOurs
            sent = True

        try:
            up = await self.client.create_task(body, before_send=mark_sent)
        except _NotOurs:
            # Settled by another process meanwhile (it judged us gone): nothing was sent.
            log.warning("task %s: no longer this process's create; not sent", task.id)
            return await self.get(task.id)
        except AmbiguousCreate as exc:
            task = await self.store.update(
                task.id,
                status="unknown",
                error=TaskError(code="ambiguous_create", message=str(exc), retryable=False),
            )
            self._notify(task.id)
            return task
        except UpstreamError as exc:
            await self.store.update(
                task.id,
                status="failed",
                error=TaskError(
                    code=exc.code or "create_failed", message=str(exc), retryable=exc.retryable
                ),
            )
            self._notify(task.id)
            raise
        except Exception as exc:
            await self._settle_failed_create(task, exc, sent=sent)
            raise
        return await self._record_accepted(task, up)

    async def _settle_failed_create(self, task: Task, exc: Exception, *, sent: bool) -> None:
        """An unexpected error around the create (a bug, the store failing): settle the task
        now, as what it may be, so it is never left 'submitting' or sent twice."""
        status, error = unanswered_create(
            f"Creating failed ({type(exc).__name__}: {exc})", sent=sent
        )
        snapshot = task.model_copy(update={"sent_at": datetime.now(UTC)}) if sent else task
        try:
            # As read (our owner, our sent state): never over another process's retry.
            if await self.store.settle_orphan(snapshot, status, error):
                self._notify(task.id)
        except Exception:  # the store may be what failed: the poller settles it once stale
            log.exception("task %s: could not record the failed create", task.id)
            self.poller.schedule(task.id, self.config.poller.stale_submit)

    async def _record_accepted(self, task: Task, up: UpstreamTask) -> Task:
        """Record a created (paid) task, retrying the write: its upstream id exists nowhere
        else."""
        for attempt in range(_RECORD_ATTEMPTS):
            try:
                return await self._accepted(task, up)
            except Exception:
                if attempt == _RECORD_ATTEMPTS - 1:
                    log.exception(
                        "task %s: created upstream as %s but could not record it", task.id, up.id
                    )
                    self.poller.schedule(task.id, self.config.poller.stale_submit)
                    raise
                log.warning("task %s: recording upstream id %s failed; retrying", task.id, up.id)
                await anyio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _accepted(self, task: Task, up: UpstreamTask) -> Task:
        reserved = up.usage.credits_reserved or 0.0
        if reserved:
            self._credits_per_image[task.request.model] = reserved / task.request.n
        status = upstream_status(up)
        task = await self.store.update(
            task.id,
            upstream_id=up.id,
            status="pending" if status == "completed" else status,
            progress=up.progress,
            credits_reserved=reserved,
            estimated_time=up.task_info.estimated_time,
            submitted_at=time.time(),
        )
        self.poller.track(task.id, up.task_info.estimated_time)
        self._notify(task.id)
        return task

    # --- look-ups and waiting ---------------------------------------------------------------

    async def get(self, task_id: str) -> Task:
        task = await self.store.get(task_id)
        if task is None:
            raise TaskNotFound(
                f"No task {task_id!r} here. Call list_tasks to see recent task ids "
                "(ids look like 'ig-3f9a0c1b2d4e')."
            )
        return task

    async def wait(
        self, task_id: str, timeout: float, on_progress: ProgressCallback | None = None
    ) -> Task:
        """Return once the task is terminal or ``timeout`` seconds pass, reporting changes.

        Cancelling this only stops the wait: the poller keeps the task going.
        """
        deadline = anyio.current_time() + max(0.0, timeout)
        seen: tuple[str, int, int] | None = None
        while True:
            event = self._event(task_id)  # taken before reading, so no change is missed
            task = await self.get(task_id)
            state = (task.status, task.progress, len(task.images))
            if on_progress is not None and state != seen:
                await on_progress(task)
            seen = state
            remaining = deadline - anyio.current_time()
            if task.is_terminal or remaining <= 0:
                return task
            with anyio.move_on_after(remaining):
                await event.wait()

    async def recent(self, *, limit: int = 20, status: str | None = None) -> list[Task]:
        return await self.store.recent(limit=limit, status=status)

    async def handle_callback(self, token: str) -> bool:
        """An upstream callback arrived: confirm with an immediate GET (bodies are unsigned)."""
        task = await self.store.get_by_callback_token(token)
        if task is None:
            return False
        if not task.is_terminal:
            self.poller.poll_now(task.id)
        return True

    def _event(self, task_id: str) -> anyio.Event:
        event = self._events.get(task_id)
        if event is None:
            event = self._events[task_id] = anyio.Event()
        return event

    def _notify(self, task_id: str) -> None:
        event = self._events.pop(task_id, None)
        if event is not None:
            event.set()
