"""Protocol tasks on the 2025-11-25 protocol (the handshake era's ``tasks`` capability).

The SDK knows none of it, so this is a ``Server.middleware`` around three spec methods, plus the
``tasks/*`` handlers (bound by ``server.tasks_protocol``, which serves both eras):
- ``initialize``: the server's capabilities gain ``tasks`` (list, cancel, tool calls). The
  spec has the *receiver* of task-augmented requests declare it, whatever the requestor
  declares: a client's own ``tasks`` capability says it receives tasks (sampling,
  elicitation), not that it sends them, and the official requester (``ext-tasks``) declares
  none. So every client of this era is offered tasks; one that never sends a ``task`` field
  gets today's answers;
- ``tools/list``: ``generate_image`` and ``edit_image`` declare ``execution.taskSupport:
  "optional"`` (78 bytes; 2026-07-28 clients, whose tasks are an extension, see no change);
- ``tools/call`` with a ``task`` field: the tool runs without waiting and the answer is a
  ``CreateTaskResult``. It must bypass the SDK's result check, which knows only
  ``CallToolResult`` for tools/call in this era: a middleware's own answer is sent as it is.

Cancel: the spec has ``tasks/cancel`` move the task to ``cancelled`` (and keep it there), and
says a receiver SHOULD try to stop the work. We cannot: the upstream has no cancel endpoint.
So the handle reads ``cancelled`` with a message saying the generation runs on, is charged,
and its images are saved and shown by ``get_task``/``list_tasks`` - the spec's own rule that a
cancelled task stays cancelled whatever the work does. Refusing the cancel would leave a host
with no way to stop following a task its user gave up on.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Literal, cast

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import PaginatedRequestParams, RequestParams
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND
from pydantic import BaseModel

from imagegen_mcp.server.tasks_core import Snapshot, TaskProtocol
from imagegen_mcp.server.tasks_owner import creator_of
from imagegen_mcp.tools.state import AS_PROTOCOL_TASK
from imagegen_mcp.tools.task_calls import TASK_TOOLS

#: What the server declares in ``initialize``: list, cancel, and task-backed tool calls.
SERVER_TASKS: dict[str, Any] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
TASK_SUPPORT = {"taskSupport": "optional"}
#: ``tasks/list`` page size.
PAGE = 50


class TaskIdParams(RequestParams):
    task_id: str


def v1_task(snapshot: Snapshot) -> dict[str, Any]:
    """The 2025-11-25 ``Task`` object."""
    fields = {**snapshot.common(), "ttl": snapshot.handle.ttl_ms}
    if (poll := snapshot.poll_ms()) is not None:
        fields["pollInterval"] = poll
    return fields


#: The one protocol version whose tasks this middleware serves (2026-07-28 has the extension;
#: versions before 2025-11-25 have no tasks).
TASKS_VERSION = "2025-11-25"


class _StatusNotification(BaseModel):
    method: Literal["notifications/tasks/status"] = "notifications/tasks/status"
    params: dict[str, Any]


async def _notify_status(ctx: ServerRequestContext[Any, Any], snapshot: Snapshot) -> None:
    """``notifications/tasks/status`` on the session's own stream (the call has ended). The SDK
    has no model for it in this era: the session sends any model with a method and params."""
    await ctx.session.send_notification(cast("Any", _StatusNotification(params=v1_task(snapshot))))


class LegacyTasks:
    """The ``Server.middleware`` and the 2025-11-25 handlers."""

    def __init__(self, core: TaskProtocol) -> None:
        self.core = core

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.request_id is None:
            return await call_next(ctx)
        if ctx.method == "initialize":
            # Tasks exist from 2025-11-25 on: an older client gets exactly the old answers.
            answer = await call_next(ctx)
            if isinstance(answer, dict) and answer.get("protocolVersion") == TASKS_VERSION:
                ours = answer.get("capabilities")
                if isinstance(ours, dict):
                    ours["tasks"] = SERVER_TASKS
            return answer
        if ctx.protocol_version != TASKS_VERSION:
            return await call_next(ctx)
        if ctx.method == "tools/list":
            answer = await call_next(ctx)
            if isinstance(answer, dict):
                for tool in answer.get("tools") or []:
                    if tool.get("name") in TASK_TOOLS:
                        tool["execution"] = TASK_SUPPORT
            return answer
        params = ctx.params or {}
        task = params.get("task") if ctx.method == "tools/call" else None
        if isinstance(task, Mapping):
            return await self._call_as_task(ctx, call_next, params)
        return await call_next(ctx)

    async def _call_as_task(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext, params: Mapping[str, Any]
    ) -> HandlerResult:
        tool = params.get("name")
        if tool not in TASK_TOOLS:
            # The spec's answer for a tool that does not declare task support.
            raise MCPError(
                code=METHOD_NOT_FOUND,
                message=f"{str(tool)[:64]!r} answers at once and never runs as a task: "
                "call it without the task field.",
            )
        token = AS_PROTOCOL_TASK.set(True)
        try:
            answer = await call_next(ctx)
        finally:
            AS_PROTOCOL_TASK.reset(token)
        if not isinstance(answer, Mapping):
            return answer
        ttl = params["task"].get("ttl")
        arguments = params.get("arguments")
        snapshot = await self.core.open_task(
            ctx,
            str(tool),
            arguments if isinstance(arguments, Mapping) else None,
            answer,
            ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None,
        )
        if snapshot is None:
            return answer  # not recorded: the tool's own answer names the paid task
        self.core.watch(ctx, snapshot, partial(_notify_status, ctx))
        return {"task": v1_task(snapshot)}

    # --- tasks/* at 2025-11-25 -------------------------------------------------------------

    async def get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> HandlerResult:
        handle = await self.core.find(ctx, params.task_id)
        return v1_task(await self.core.snapshot(ctx, handle, honour_cancel=True))

    async def result(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> HandlerResult:
        """Blocks until the task ends (the spec: a non-terminal task's result waits for it),
        then answers what the tool call would have: ``get_task``'s result."""
        handle = await self.core.find(ctx, params.task_id)
        result = await self.core.result(ctx, handle, block=True)
        answer = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        meta = {"io.modelcontextprotocol/related-task": {"taskId": handle.id}}
        return {**answer, "_meta": {**answer.get("_meta", {}), **meta}}

    async def list(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams
    ) -> HandlerResult:
        store = await self.core.handles()
        page = await store.page(creator_of(ctx), after=params.cursor, limit=PAGE)
        if page is None:
            raise MCPError(
                code=INVALID_PARAMS,
                message="That cursor is no longer valid: call tasks/list without one.",
            )
        tasks = [
            v1_task(await self.core.snapshot(ctx, handle, honour_cancel=True)) for handle in page
        ]
        answer: dict[str, Any] = {"tasks": tasks}
        if len(page) == PAGE:
            answer["nextCursor"] = page[-1].id
        return answer

    async def cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> HandlerResult:
        handle = await self.core.find(ctx, params.task_id)
        snapshot = await self.core.snapshot(ctx, handle, honour_cancel=True)
        if snapshot.terminal:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Task {handle.id} is already {snapshot.status}: there is nothing to "
                "cancel.",
            )
        handle = await self.core.cancel(handle)
        return v1_task(await self.core.snapshot(ctx, handle, honour_cancel=True))
