"""Protocol tasks for ``generate_image`` and ``edit_image``: what both protocol generations share.

A host may ask for a tool call as a task: on 2025-11-25 any host (the server declares ``tasks``
to every client, ``server.tasks_legacy``), on 2026-07-28 one whose request declares the
``io.modelcontextprotocol/tasks`` extension (``server.tasks_protocol``).
The tool then runs exactly as otherwise - the same checks, budget and confirmation, in the same
order - except that it does not wait (``tools.state.AS_PROTOCOL_TASK``); the host gets a task
handle at once and follows it with ``tasks/get``.

Guarantees:
- The handle id is 128 random bits, never derived from our task id, and maps durably to it in
  the state database (``storage.handles``): ``tasks/get`` and ``tasks/result`` answer after a
  server restart for the handle's TTL, and the result is exactly what ``get_task`` answers
  (``tools.task_calls``).
- Status is honest: ``working`` while the task is submitting, pending or processing (saving
  included), ``completed`` only once every image is saved, ``failed`` with the error text for
  failed, unknown (which says it may have been charged) and expired tasks. ``statusMessage``
  carries the progress; the poll interval is when the server itself looks next. A handle once
  failed stays failed (the spec: terminal is final), even if our task is later sent again.
- Visibility: a handle belongs to its creator, the hash of the bearer token the request carried,
  or ``local`` without one (stdio, a loopback bind: this machine's user). Not to an HTTP
  session: sessions die with the process, and a handle must outlive a restart, so after one
  the same token still reaches it by id. ``tasks/list`` shows exactly what ``tasks/get``
  reaches (the spec's rule): the creator's handles, whichever session made them.
- Cancelling stops nobody's money: the upstream has no cancel endpoint. See ``cancel_note``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.abc
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.types import CallToolResult, TextContent
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

from imagegen_mcp.errors import ImagegenError
from imagegen_mcp.server.tasks_owner import creator_of, session_of
from imagegen_mcp.tools.previews import PreviewMode
from imagegen_mcp.tools.state import AppState
from imagegen_mcp.tools.task_calls import task_result
from imagegen_mcp.tools.views import next_step, progress_of

if TYPE_CHECKING:
    from imagegen_mcp.models import Task
    from imagegen_mcp.service.engine import TaskEngine
    from imagegen_mcp.storage.handles import HandleStore, TaskHandle

log = logging.getLogger(__name__)

McpStatus = Literal["working", "completed", "failed", "cancelled"]

#: How long a handle is kept when the host asks for nothing else, and at most.
DEFAULT_TTL_MS = 7 * 24 * 3600 * 1000
MAX_TTL_MS = 30 * 24 * 3600 * 1000
MIN_TTL_MS = 60 * 1000
#: The suggested poll interval: when the poller looks next, within these bounds (seconds).
POLL_FLOOR, POLL_CEILING, POLL_SAVING = 1.0, 20.0, 1.0
#: ``tasks/result`` blocks until the task ends, waking this often to re-read it.
RESULT_SLICE_SECONDS = 30.0


def cancel_note(task_id: str | None) -> str:
    where = f" get_task('{task_id}') or list_tasks shows them." if task_id else ""
    return (
        "Cancel received, but image generation cannot be stopped upstream (EvoLink has no "
        "cancel): it runs on, is still charged, and its images are still saved." + where
    )


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def outcome_of(result: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """A tool result (wire form) as (our task id, or the error text when no task exists)."""
    structured = result.get("structuredContent")
    if isinstance(structured, Mapping) and isinstance(structured.get("task_id"), str):
        return str(structured["task_id"]), None
    texts = [c.get("text", "") for c in result.get("content") or [] if c.get("type") == "text"]
    return None, " ".join(t for t in texts if t) or "The tool call failed before any task."


@dataclass(frozen=True)
class Snapshot:
    """A handle as the host sees it."""

    handle: TaskHandle
    status: McpStatus
    message: str
    updated_at: float
    poll_seconds: float | None
    task: Task | None = None

    @property
    def terminal(self) -> bool:
        return self.status != "working"

    def common(self) -> dict[str, Any]:
        return {
            "taskId": self.handle.id,
            "status": self.status,
            "statusMessage": self.message,
            "createdAt": iso(self.handle.created_at),
            "lastUpdatedAt": iso(max(self.updated_at, self.handle.created_at)),
        }

    def poll_ms(self) -> int | None:
        return None if self.poll_seconds is None else round(self.poll_seconds * 1000)


class TaskProtocol:
    """Handles, their status and results; the store opens on first use, closes with the server."""

    def __init__(self, db_path: Path) -> None:
        self._path = db_path
        self._store: HandleStore | None = None
        self._lock = anyio.Lock()
        self._watchers: anyio.abc.TaskGroup | None = None
        #: Set (and replaced) on every cancel: whoever waits on a handle looks again at once.
        self._cancels = anyio.Event()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the server runs: status watchers may run; the store closes at the end."""
        try:
            async with anyio.create_task_group() as tg:
                self._watchers = tg
                try:
                    yield
                finally:
                    self._watchers = None
                    tg.cancel_scope.cancel()
        finally:
            await self.aclose()

    def watch(
        self,
        ctx: ServerRequestContext[Any, Any],
        created: Snapshot,
        send: Callable[[Snapshot], Awaitable[None]],
    ) -> None:
        """Call ``send`` with each change of the handle's status or message, until it ends
        (from a background task: the call that created the handle has answered by then)."""
        if self._watchers is not None and not created.terminal:
            self._watchers.start_soon(self._watch, ctx, created, send)

    async def _watch(
        self,
        ctx: ServerRequestContext[Any, Any],
        created: Snapshot,
        send: Callable[[Snapshot], Awaitable[None]],
    ) -> None:
        last = (created.status, created.message)
        try:
            engine = await _state(ctx).engine()
            while True:
                handle = await (await self.handles()).get(created.handle.id, created.handle.creator)
                if handle is None:
                    return  # past its TTL
                snapshot = await self.snapshot(ctx, handle, honour_cancel=True)
                if (snapshot.status, snapshot.message) != last:
                    last = (snapshot.status, snapshot.message)
                    await send(snapshot)
                if snapshot.terminal or snapshot.task is None:
                    return
                await self._wait(engine, snapshot.task)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, ImagegenError, MCPError):
            # The host went away, or the engine closed: the task itself goes on.
            log.debug("stopped sending status of task %s", created.handle.id, exc_info=True)
        except Exception:  # a bug: said in the log; the task itself still goes on
            log.warning("stopped sending status of task %s", created.handle.id, exc_info=True)

    async def handles(self) -> HandleStore:
        async with self._lock:
            if self._store is None:
                # Loaded on first use: tools/list must not wait for the storage stack.
                from imagegen_mcp.storage.handles import HandleStore

                self._store = await HandleStore.open(self._path)
            return self._store

    async def aclose(self) -> None:
        async with self._lock:
            if self._store is not None:
                await self._store.aclose()
                self._store = None

    async def open_task(
        self,
        ctx: ServerRequestContext[Any, Any],
        tool: str,
        arguments: Mapping[str, Any] | None,
        result: Mapping[str, Any],
        ttl_ms: int | None,
    ) -> Snapshot | None:
        """Record a handle for the call that answered ``result`` (wire form); None when it cannot
        be: the create is paid, so the caller answers with the tool's result naming the task."""
        from imagegen_mcp.storage.handles import TaskHandle, new_handle_id

        task_id, error = outcome_of(result)
        ttl = DEFAULT_TTL_MS if ttl_ms is None else min(max(ttl_ms, MIN_TTL_MS), MAX_TTL_MS)
        handle = TaskHandle(
            id=new_handle_id(),
            task_id=task_id,
            tool=tool,
            creator=creator_of(ctx),
            session=session_of(ctx),
            preview=_preview((arguments or {}).get("preview")),
            error=error,
            created_at=datetime.now(UTC).timestamp(),
            ttl_ms=ttl,
        )
        try:
            await (await self.handles()).add(handle)
            return await self.snapshot(ctx, handle, honour_cancel=False)
        except Exception:
            log.exception("recording a protocol task failed; answering with the tool's result")
            return None

    async def find(self, ctx: ServerRequestContext[Any, Any], handle_id: str) -> TaskHandle:
        handle = await (await self.handles()).get(handle_id, creator_of(ctx))
        if handle is None:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"No task {handle_id[:64]!r} for this client (unknown, someone else's, "
                "or past its TTL): list_tasks shows the server's recent image tasks.",
            )
        return handle

    async def snapshot(
        self, ctx: ServerRequestContext[Any, Any], handle: TaskHandle, *, honour_cancel: bool
    ) -> Snapshot:
        """The handle's status; ``honour_cancel``: a cancelled handle reads ``cancelled``
        (2025-11-25), else cancelling only adds the note (2026-07-28: cancel is a request)."""
        if handle.task_id is None:
            return Snapshot(handle, "failed", handle.error or "Failed.", handle.created_at, None)
        state = _state(ctx)
        try:
            engine = await state.engine()
            task = await engine.get(handle.task_id)
        except ImagegenError as exc:
            raise MCPError(code=INTERNAL_ERROR, message=str(exc)) from None
        if honour_cancel and handle.cancelled_at is not None:
            note = cancel_note(task.id)
            return Snapshot(handle, "cancelled", note, handle.cancelled_at, None, task)
        if handle.failed_message is not None and handle.failed_at is not None:
            # Reported failed once: failed for good (a terminal status never changes).
            message = handle.failed_message
            if _went_on(task):
                message += f" Since then task {task.id} went on ({task.status}): get_task shows it."
            return Snapshot(handle, "failed", message, handle.failed_at, None, task)
        status: McpStatus
        if task.status == "completed":
            status, message, poll = "completed", next_step(task), None
        elif task.is_terminal:
            status, message, poll = "failed", next_step(task), None
            at = task.updated_at.timestamp()
            handle = await (await self.handles()).fail(handle.id, message, at) or handle
        else:
            value, stage = progress_of(task)
            status, message = "working", f"{stage}; {value:.0f}% overall (task {task.id})"
            due = engine.next_poll(task.id)
            poll = POLL_SAVING if due is None else min(max(due, POLL_FLOOR), POLL_CEILING)
            if handle.cancelled_at is not None:
                message = f"{message}. {cancel_note(task.id)}"
        return Snapshot(handle, status, message, task.updated_at.timestamp(), poll, task)

    async def result(
        self,
        ctx: ServerRequestContext[Any, Any],
        handle: TaskHandle,
        *,
        block: bool,
        honour_cancel: bool = True,
    ) -> CallToolResult:
        """What ``get_task`` answers for the handle's task; ``block``: once the handle has
        ended (a cancelled one has: its result is the task as it is now). A handle failed for
        good while its task went on answers its failure."""
        snapshot = await self.snapshot(ctx, handle, honour_cancel=honour_cancel)
        state = _state(ctx)
        try:
            while block and not snapshot.terminal and snapshot.task is not None:
                # Each slice ends on a change of the task or at its end; a cancel of the handle
                # is seen at the latest then. The poller goes on meanwhile.
                await self._wait(await state.engine(), snapshot.task)
                snapshot = await self.snapshot(
                    ctx, await self.find(ctx, handle.id), honour_cancel=honour_cancel
                )
            task = snapshot.task
            if task is None or (snapshot.status == "failed" and _went_on(task)):
                text = snapshot.message or "Failed."
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
            return await task_result(state, task.id, _preview(handle.preview))
        except ImagegenError as exc:
            raise MCPError(code=INTERNAL_ERROR, message=str(exc)) from None

    async def cancel(self, handle: TaskHandle) -> TaskHandle:
        cancelled = await (await self.handles()).cancel(handle.id)
        self._cancels.set()
        self._cancels = anyio.Event()
        return cancelled or handle

    async def _wait(self, engine: TaskEngine, task: Task) -> None:
        """Until the task changes, a handle is cancelled, or a slice passes."""
        cancels, failure = self._cancels, None
        async with anyio.create_task_group() as tg:

            async def on_cancel() -> None:
                await cancels.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(on_cancel)
            try:
                await engine.wait(task.id, RESULT_SLICE_SECONDS, until=partial(_moved, task))
            except ImagegenError as exc:  # raised as itself, not in the task group's group
                failure = exc
            tg.cancel_scope.cancel()
        if failure is not None:
            raise failure


def _went_on(task: Task) -> bool:
    """Our task is no longer failed (resent, or found after all): not what was reported."""
    return task.status == "completed" or not task.is_terminal


def _moved(seen: Task, now: Task) -> bool:
    return now.updated_at != seen.updated_at


def _preview(value: object) -> PreviewMode:
    """A preview mode as the tools take it: anything else (absent, unknown) is a thumbnail."""
    return "full" if value == "full" else "none" if value == "none" else "thumbnail"


def _state(ctx: ServerRequestContext[Any, Any]) -> AppState:
    state = ctx.lifespan_context
    if not isinstance(state, AppState):
        raise MCPError(code=INTERNAL_ERROR, message="The server is not ready yet; try again.")
    return state
