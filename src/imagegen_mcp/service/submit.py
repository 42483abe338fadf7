"""Sending a create, and settling it whatever happens: the one module that may pay.

A create goes through these steps, each recorded before the next:

1. the intent row (``submitting``), checked against the daily budget and the caller's
   ``client_request_id`` in one transaction (``storage.intents``);
2. "sent", set by compare-and-set just before the request goes on the wire: until then, a
   crash provably sent nothing;
3. the answer: accepted (``pending``/``processing`` with the upstream id, retried until
   recorded), refused (``failed``), never sent (``failed`` / ``create_not_sent``: the same
   ``client_request_id`` sends that same task again), or lost after sending (``unknown``:
   maybe charged, never resent).

A task whose process died before step 3 is settled by another process (``recover``): at once
when the owner provably ended, else once left for ``stale_submit`` seconds. Settling is a
compare-and-set on the owner and the sent state as read, so it never lands on a retry.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.errors import CREATE_NOT_SENT, AmbiguousCreate, UpstreamError
from imagegen_mcp.models import Task, TaskError, TaskRequest
from imagegen_mcp.service.statuses import upstream_status
from imagegen_mcp.service.validation import model_spec, typical_duration
from imagegen_mcp.service.wire import callback_path, create_body
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.intents import Intent
from imagegen_mcp.storage.owner import current_owner, owner_gone

log = logging.getLogger(__name__)

_RECORD_ATTEMPTS = 5


class Scheduler(Protocol):
    """What the submitter needs from the poller."""

    def track(self, task_id: str, estimate: float | None, *, model: str | None = None) -> None: ...

    def schedule(self, task_id: str, delay: float) -> None: ...


@dataclass(frozen=True)
class SubmitConfig:
    daily_budget: float | None = None
    public_url: str | None = None  # where upstream callbacks can reach our HTTP app
    stale_submit: float = 300.0  # an unanswered create older than this is settled by anyone


class _NotOurs(Exception):
    """mark_sent found the task settled by another process: the create must not be sent."""


def new_task_id() -> str:
    return "ig-" + secrets.token_hex(6)


def unanswered_create(cause: str, *, sent: bool) -> tuple[Literal["failed", "unknown"], TaskError]:
    """How a create that got no answer is settled: ``unknown`` if it may have left (it may have
    been charged), else ``failed`` with ``create_not_sent`` (the same client_request_id sends
    it again)."""
    if sent:
        return "unknown", TaskError(
            code="ambiguous_create",
            message=f"{cause} after this task's create may have been sent: it may have been "
            "created and charged. Check the EvoLink dashboard before retrying.",
            retryable=False,
        )
    return "failed", TaskError(
        code=CREATE_NOT_SENT,
        message=f"{cause} before this task's create was sent: nothing was created or charged. "
        "Call the tool again; the same client_request_id sends it.",
        retryable=True,
    )


@dataclass(eq=False)
class Submitter:
    store: TaskStore
    client: EvoLinkClient
    scheduler: Scheduler  # polls an accepted task; re-checks one it could not settle
    notify: Callable[[str], None]  # a task changed: wake whoever waits for it
    config: SubmitConfig
    #: Credits per image last charged, per model and tier: the budget's estimate for the next.
    _credits_per_image: dict[tuple[str, str | None, str | None, str], float] = field(
        default_factory=dict, init=False
    )
    _pricing: dict[str, anyio.Lock] = field(default_factory=dict, init=False)

    async def submit(self, request: TaskRequest, *, client_request_id: str | None) -> Task:
        """Record the intent and send the create (or return the task with the same
        ``client_request_id``). Raises ``BudgetExceeded`` or ``UpstreamError`` when nothing was
        created; an ambiguous create returns the task as ``unknown``."""
        estimate = await self.estimate(request)
        if estimate is not None or self.config.daily_budget is None:
            return await self._submit(request, client_request_id, estimate)
        # A budget, and no price known for the model: one create at a time, whose answer
        # tells the price to the next (the store refuses a second process's meanwhile).
        lock = self._pricing.setdefault(request.model, anyio.Lock())
        async with lock:
            estimate = await self.estimate(request)
            return await self._submit(request, client_request_id, estimate)

    async def estimate(self, request: TaskRequest) -> float | None:
        """Credits the request should reserve: the last charge seen for its model, tier, quality
        and extras (here or in the store, so it survives restarts), else the catalog's price,
        else unknown."""
        key = request.priced_as()
        per_image = self._credits_per_image.get(key)
        if per_image is None:
            per_image = await self.store.credits_per_image(key)
            if per_image is not None:
                self._credits_per_image[key] = per_image
        if per_image is not None:
            return per_image * request.count
        spec = model_spec(request.model)
        hint = spec.price.estimate(request.resolution or spec.default_tier())
        if hint is None:
            return None
        return hint * request.count if spec.price.per == "image" else hint

    async def _submit(
        self, request: TaskRequest, client_request_id: str | None, estimate: float | None
    ) -> Task:
        token = secrets.token_urlsafe(24) if self.config.public_url else None
        intent = Intent(
            task_id=new_task_id(),
            request=request,
            client_request_id=client_request_id,
            callback_token=token,
            credits_estimate=estimate,
            daily_budget=self.config.daily_budget,
            owner=current_owner(),
        )
        task, created = await self.store.create_intent(intent)
        if not created:
            return task
        # Once the POST may be on the wire its outcome must be recorded, even if our caller
        # gives up: shield the create and its bookkeeping from cancellation.
        with anyio.CancelScope(shield=True):
            task = await self._create(task)
        return task  # noqa: RET504  # returning inside the shield confuses mypy's flow analysis

    def _body(self, task: Task) -> dict[str, Any]:
        callback = None
        if task.callback_token and self.config.public_url:
            callback = self.config.public_url + callback_path(task.callback_token)
        return create_body(model_spec(task.request.model), task.request, callback)

    async def _create(self, task: Task) -> Task:
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
            up = await self.client.create_task(self._body(task), before_send=mark_sent)
        except _NotOurs:
            # Settled by another process meanwhile (it judged us gone): nothing was sent.
            log.warning("task %s: no longer this process's create; not sent", task.id)
            return await self.store.get(task.id) or task
        except AmbiguousCreate as exc:
            error = TaskError(code="ambiguous_create", message=str(exc), retryable=False)
            await self._settle(task, owner, "unknown", error, sent=True)
            return await self.store.get(task.id) or task
        except UpstreamError as exc:
            code = exc.code or "create_failed"
            error = TaskError(code=code, message=str(exc), retryable=exc.retryable)
            await self._settle(task, owner, "failed", error, sent=sent)
            raise
        except Exception as exc:
            # A bug, or the store failing: settle the task now, as what it may be, so it is
            # never left 'submitting' or sent twice.
            status, error = unanswered_create(
                f"Creating failed ({type(exc).__name__}: {exc})", sent=sent
            )
            try:
                await self._settle(task, owner, status, error, sent=sent)
            except Exception:  # the store may be what failed: recovery settles it once stale
                log.exception("task %s: could not record the failed create", task.id)
                self.scheduler.schedule(task.id, self.config.stale_submit)
            raise
        return await self._record_accepted(task, up)

    async def _settle(
        self,
        task: Task,
        owner: str,
        status: Literal["failed", "unknown"],
        error: TaskError,
        *,
        sent: bool,
    ) -> None:
        # As read (our owner, our sent state): never over another process's retry.
        if await self.store.settle_create(task.id, status, error, owner=owner, sent=sent):
            self.notify(task.id)

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
                    self.scheduler.schedule(task.id, self.config.stale_submit)
                    raise
                log.warning("task %s: recording upstream id %s failed; retrying", task.id, up.id)
                await anyio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _accepted(self, task: Task, up: UpstreamTask) -> Task:
        reserved = up.usage.credits_reserved or 0.0
        if reserved:
            key = task.request.priced_as()
            self._credits_per_image[key] = reserved / task.request.count
        # A create answered as finished (or failed) is confirmed by the first poll.
        status: Literal["pending", "processing"] = (
            "processing" if upstream_status(up) == "processing" else "pending"
        )
        recorded = await self.store.record_accepted(
            task.id,
            upstream_id=up.id,
            status=status,
            progress=up.progress,
            credits_reserved=reserved,
            estimated_time=up.task_info.estimated_time,
        )
        if recorded is None:
            log.error("task %s: created upstream as %s, but settled meanwhile", task.id, up.id)
            return await self.store.get(task.id) or task
        # Before the upstream's own estimate arrives, the catalog's typical duration.
        estimate = up.task_info.estimated_time or typical_duration(task.request.model)
        self.scheduler.track(task.id, estimate, model=task.request.model)
        self.notify(task.id)
        return recorded


# --- recovery of creates a process left unanswered -------------------------------------------


def recovery_delay(task: Task, stale_submit: float) -> float:
    """Seconds before an unanswered create may be settled by this process (0: now)."""
    if owner_gone(task.owner):
        return 0.0
    age = time.time() - task.updated_at.timestamp()
    return max(0.0, stale_submit - age)


async def recover(store: TaskStore, task: Task, stale_submit: float) -> float | None:
    """Settle a ``submitting`` task left by a process that died (or went silent): ``failed``
    with ``create_not_sent`` if its create never went on the wire, else ``unknown``. Returns the
    seconds to wait before trying again, or None once it is settled (or moved on)."""
    wait = recovery_delay(task, stale_submit)
    if wait > 0:
        return wait
    sent = task.sent_at is not None
    status, error = unanswered_create("The server stopped", sent=sent)
    # Only as read: a task whose owner or sent state changed meanwhile is left alone.
    await store.settle_create(task.id, status, error, owner=task.owner, sent=sent)
    return None
