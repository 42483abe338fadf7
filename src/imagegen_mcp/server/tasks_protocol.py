"""Protocol tasks on the 2026-07-28 protocol: the ``io.modelcontextprotocol/tasks`` extension
(SEP-2663), and the ``tasks/*`` methods of both eras (the SDK keeps one handler per method).

On 2026-07-28 a client declares the extension in each request's capabilities; the server then
decides per request whether to answer with a task. It does so for ``generate_image`` and
``edit_image`` (the interceptor below): the tool runs without waiting and the answer is a
``CreateTaskResult`` (``resultType: "task"``). A question asked before paying
(``InputRequiredResult``) and a refusal before any task (an error result) still go back as they
are: there is no task to follow yet. Once the task ends, ``tasks/get`` reads ``completed`` with
the result (``get_task``'s; ``isError`` for a failed, unknown or expired task, the error text
also in ``statusMessage``): the extension keeps ``failed`` for JSON-RPC errors. ``tasks/update``
is acknowledged with nothing to do (these tasks never ask for input). A request that did not
declare the extension is refused the ``tasks/*`` methods with -32021.

Cancel is a request here, not a command: the server acknowledges it and need not stop the work.
The work cannot be stopped (the upstream has no cancel endpoint), so the task goes on to its
real end, still charged and saved, and its status message says so from the cancel on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.types import CallToolRequestParams, PaginatedRequestParams
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from imagegen_mcp.models import TERMINAL_STATUSES
from imagegen_mcp.server.tasks_core import Snapshot, TaskProtocol
from imagegen_mcp.server.tasks_legacy import LegacyTasks, TaskIdParams
from imagegen_mcp.tools.state import AS_PROTOCOL_TASK
from imagegen_mcp.tools.task_calls import TASK_TOOLS

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
#: The extension's error for a request that needs it and did not declare it.
MISSING_CAPABILITY = -32021


class UpdateParams(TaskIdParams):
    input_responses: dict[str, Any] | None = None


def v2_task(snapshot: Snapshot) -> dict[str, Any]:
    """The 2026-07-28 task fields (shared by CreateTaskResult and tasks/get)."""
    fields = {**snapshot.common(), "ttlMs": snapshot.handle.ttl_ms}
    if (poll := snapshot.poll_ms()) is not None:
        fields["pollIntervalMs"] = poll
    return fields


def _declares_extension(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    extensions = capabilities.extensions if capabilities is not None else None
    return TASKS_EXTENSION in (extensions or {})


def _modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def _wire(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(result) if isinstance(result, dict) else {}


class TasksExtension(Extension):
    """Serves ``tasks/*`` in both eras and answers tool calls with tasks on 2026-07-28."""

    identifier = TASKS_EXTENSION

    def __init__(self, core: TaskProtocol) -> None:
        self.core = core
        self.legacy = LegacyTasks(core)

    def methods(self) -> Sequence[MethodBinding]:
        handshake = frozenset(HANDSHAKE_PROTOCOL_VERSIONS)
        return (
            MethodBinding("tasks/get", TaskIdParams, self._get),
            MethodBinding("tasks/cancel", TaskIdParams, self._cancel),
            MethodBinding(
                "tasks/update",
                UpdateParams,
                self._update,
                protocol_versions=frozenset(MODERN_PROTOCOL_VERSIONS),
            ),
            MethodBinding("tasks/result", TaskIdParams, self.legacy.result, handshake),
            MethodBinding("tasks/list", PaginatedRequestParams, self.legacy.list, handshake),
        )

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        if not (_modern(ctx) and params.name in TASK_TOOLS and _declares_extension(ctx)):
            return await call_next(ctx)
        token = AS_PROTOCOL_TASK.set(True)
        try:
            answer = await call_next(ctx)
        finally:
            AS_PROTOCOL_TASK.reset(token)
        wire = _wire(answer)
        structured = wire.get("structuredContent")
        if wire.get("resultType") == "input_required" or not isinstance(structured, dict):
            return answer  # a question before paying, or a refusal: no task exists yet
        if structured.get("status") in TERMINAL_STATUSES:
            # Already over (a repeated client_request_id, a create answered ``unknown``): the
            # server decides per request, and a task that could only read ``completed`` with
            # this very result is answered as the result itself, never as a ``failed`` task
            # that a later tasks/get would call ``completed``.
            return answer
        snapshot = await self.core.open_task(ctx, params.name, params.arguments, wire, None)
        if snapshot is None:
            return answer  # not recorded: the tool's own answer names the paid task
        return {"resultType": "task", **v2_task(snapshot)}

    async def _get(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> HandlerResult:
        if not _modern(ctx):
            return await self.legacy.get(ctx, params)
        handle = await self.core.find(ctx, _require_extension(ctx, params))
        snapshot = await self.core.snapshot(ctx, handle, honour_cancel=False)
        answer = {"resultType": "complete", **v2_task(snapshot)}
        if snapshot.terminal:
            # The tool answered (isError or not): ``completed`` carrying that result. ``failed``
            # is for a JSON-RPC error only (the extension's rule), which the tool never gives.
            result = await self.core.result(ctx, handle, block=False, honour_cancel=False)
            answer["status"] = "completed"
            answer["result"] = {"resultType": "complete", **_wire(result)}
        return answer

    async def _cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> HandlerResult:
        if not _modern(ctx):
            return await self.legacy.cancel(ctx, params)
        # Acknowledged, never refused: a cancel is a request the server may not honour.
        await self.core.cancel(await self.core.find(ctx, _require_extension(ctx, params)))
        return {"resultType": "complete"}

    async def _update(
        self, ctx: ServerRequestContext[Any, Any], params: UpdateParams
    ) -> HandlerResult:
        # These tasks never ask for input, so no response is for an outstanding request: each
        # is ignored and the update acknowledged, as the extension says.
        await self.core.find(ctx, _require_extension(ctx, params))
        return {"resultType": "complete"}


def _require_extension(ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> str:
    """The task id, once the request declared the extension (else -32021, the extension's
    answer to a client that did not)."""
    if not _declares_extension(ctx):
        raise MCPError(
            code=MISSING_CAPABILITY,
            message="Declare the io.modelcontextprotocol/tasks extension in this request's "
            "client capabilities to follow a task.",
            data={"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
        )
    return params.task_id
