"""The MCP tools. Docstrings and Field descriptions are written for the model that calls them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import Field

from imagegen_mcp.errors import ImagegenError
from imagegen_mcp.models import (
    MAX_REFERENCES,
    MAX_WAIT_SECONDS,
    Task,
    TaskStatus,
)
from imagegen_mcp.service.masks import MaskRegion
from imagegen_mcp.tools.confirm import Approval, approve_edit, approve_generate, refused
from imagegen_mcp.tools.params import (
    CountArg,
    ImageRef,
    ModelArg,
    OptionsArg,
    PreviewArg,
    Prompt,
    QualityArg,
    RequestId,
    SizeArg,
    TaskId,
    TierArg,
    WaitArg,
)
from imagegen_mcp.tools.previews import PreviewMode, PreviewPolicy, make_preview
from imagegen_mcp.tools.requests import Choice, edit_request, generate_request
from imagegen_mcp.tools.roots import inputs_for
from imagegen_mcp.tools.state import AS_PROTOCOL_TASK, AppState
from imagegen_mcp.tools.views import (
    TaskList,
    TaskView,
    image_uri,
    progress_of,
    task_list,
    task_list_text,
    task_view,
)

log = logging.getLogger(__name__)


def _state(ctx: Context) -> AppState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState)
    return state


@asynccontextmanager
async def _tool_errors() -> AsyncIterator[None]:
    """Domain errors become is_error results with their actionable message; bugs stay terse."""
    try:
        yield
    except ImagegenError as exc:
        raise ToolError(str(exc)) from None
    except ToolError:
        raise
    except Exception as exc:
        log.exception("tool failed")
        raise ToolError(
            f"Internal error ({type(exc).__name__}); the server log has details. "
            "Call list_tasks to see whether a task was created before retrying."
        ) from None


# --- tools ---------------------------------------------------------------------------------


async def generate_image(
    prompt: Prompt,
    ctx: Context,
    # Asked before paying (IMAGEGEN_CONFIRM_ABOVE_CREDITS); not an argument of the tool.
    approval: Annotated[Approval, Resolve(approve_generate)],
    model: ModelArg = None,
    size: SizeArg = None,
    resolution: TierArg = None,
    quality: QualityArg = None,
    n: CountArg = None,
    reference_images: Annotated[
        list[ImageRef],
        Field(
            max_length=MAX_REFERENCES,
            description="Paths, URLs, data: or image:// URIs.",
        ),
    ] = [],  # noqa: B006  # never mutated; a list default shows as [] in the schema
    options: OptionsArg = None,
    wait_seconds: WaitArg = None,
    client_request_id: RequestId = None,
    preview: PreviewArg = "thumbnail",
) -> Annotated[CallToolResult, TaskView]:
    """Generate images from a prompt (and optional reference images) with any list_models model,
    saved to disk. COSTS CREDITS. If still running when the wait ends, call get_task(task_id),
    never this again."""
    async with _tool_errors():
        if (refusal := refused(approval, "generate_image")) is not None:
            return refusal
        state = _state(ctx)
        wanted = Choice(model, size, resolution, quality, n, options)
        # Checked before anything is uploaded or paid.
        request = generate_request(state.default_model, prompt, wanted, reference_images)
        if client_request_id is None:  # a repeat of a known id pays nothing: the store decides
            await (await state.engine()).check_budget(request)
        inputs = await state.inputs()
        if reference_images:
            inputs = await inputs_for(ctx, inputs)
        urls = [await inputs.as_url(ref, model=request.model) for ref in reference_images]
        request = request.model_copy(update={"image_urls": urls})
        task = await (await state.engine()).submit(request, client_request_id=client_request_id)
        return await _wait_and_render(ctx, state, task, wait_seconds, preview)


async def edit_image(
    prompt: Prompt,
    image: Annotated[
        ImageRef,
        Field(description="Path, URL, data: or image:// URI."),
    ],
    ctx: Context,
    approval: Annotated[Approval, Resolve(approve_edit)],
    mask: Annotated[
        ImageRef | None,
        Field(description="Transparent or white = change."),
    ] = None,
    mask_region: Annotated[
        list[MaskRegion] | None,
        Field(
            max_length=20,
            description="Or shapes to change, in fractions of the image.",
        ),
    ] = None,
    mask_invert: Annotated[
        bool,
        Field(description="Black, not white, marks the change."),
    ] = False,
    model: ModelArg = None,
    size: SizeArg = None,
    resolution: TierArg = None,
    quality: QualityArg = None,
    n: CountArg = None,
    options: OptionsArg = None,
    wait_seconds: WaitArg = None,
    client_request_id: RequestId = None,
    preview: PreviewArg = "thumbnail",
) -> Annotated[CallToolResult, TaskView]:
    """Edit one image as the prompt says, optionally inside a mask; results saved to disk. COSTS
    CREDITS. If still running, call get_task(task_id), never this again."""
    async with _tool_errors():
        if (refusal := refused(approval, "edit_image")) is not None:
            return refusal
        state = _state(ctx)
        wanted = Choice(model, size, resolution, quality, n, options)
        # Checked before anything is uploaded or paid.
        request = edit_request(state.default_model, prompt, wanted, image, mask, mask_region)
        if client_request_id is None:  # a repeat of a known id pays nothing: the store decides
            await (await state.engine()).check_budget(request)
        inputs = await inputs_for(ctx, await state.inputs())  # the client's roots too
        base, mask_url = await inputs.edit_inputs(
            image, model=request.model, mask=mask, regions=mask_region, invert=mask_invert
        )
        request = request.model_copy(update={"image_urls": [base], "mask_url": mask_url})
        task = await (await state.engine()).submit(request, client_request_id=client_request_id)
        return await _wait_and_render(ctx, state, task, wait_seconds, preview)


async def get_task(
    task_id: TaskId,
    ctx: Context,
    wait_seconds: WaitArg = None,
    preview: PreviewArg = "thumbnail",
) -> Annotated[CallToolResult, TaskView]:
    """Status and saved images of a task; waits up to wait_seconds. Free: use it to keep
    waiting."""
    async with _tool_errors():
        state = _state(ctx)
        task = await (await state.engine()).get(task_id)
        return await _wait_and_render(ctx, state, task, wait_seconds, preview)


async def list_tasks(
    ctx: Context,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    status: Annotated[TaskStatus | None, Field(description="Only tasks in this status.")] = None,
) -> Annotated[CallToolResult, TaskList]:
    """Recent tasks (newest first), counts, and credits spent in the last 24 h. Free."""
    async with _tool_errors():
        engine = await _state(ctx).engine()
        tasks = await engine.recent(limit=limit, status=status)
        counts = await engine.status_counts()
        spend = await engine.spend()
        return CallToolResult(
            content=[TextContent(type="text", text=task_list_text(tasks, counts, spend, status))],
            structured_content=task_list(tasks, counts, spend),
        )


# --- shared rendering ----------------------------------------------------------------------


async def _wait_and_render(
    ctx: Context,
    state: AppState,
    task: Task,
    wait_seconds: float | None,
    preview: PreviewMode,
) -> CallToolResult:
    wait = state.wait_seconds if wait_seconds is None else min(wait_seconds, MAX_WAIT_SECONDS)
    if AS_PROTOCOL_TASK.get():
        wait = 0  # the host follows the task through tasks/get instead

    last = -1.0

    async def report(t: Task) -> None:
        # Progress must only go up within a call; 100 only once every image is saved.
        nonlocal last
        value, stage = progress_of(t)
        if value > last:
            last = value
            await ctx.report_progress(value, 100, message=f"{t.id}: {stage}")

    engine = await state.engine()
    if not task.is_terminal and wait > 0:
        task = await engine.wait(task.id, wait, on_progress=report)
    # A saved file deleted or damaged since is downloaded again, or reported and left out.
    task, problems = await engine.check_files(task)
    return await render(task, preview, state.preview, problems)


async def render(
    task: Task,
    mode: PreviewMode,
    policy: PreviewPolicy,
    problems: dict[int, str] | None = None,
) -> CallToolResult:
    """The tool result: next-step text, one preview and one resource link per image."""
    if problems:
        task = task.model_copy(
            update={"images": [img for img in task.images if img.index not in problems]}
        )
    view = task_view(task)
    if problems:
        view.next_step = " ".join([*problems.values(), view.next_step])
    content: list[ContentBlock] = [TextContent(type="text", text=view.next_step)]
    for img in task.images:
        shown = await make_preview(Path(img.path), img.mime_type, mode, policy)
        if shown is not None:
            content.append(
                ImageContent(type="image", data=shown.data_b64, mime_type=shown.mime_type)
            )
        content.append(
            ResourceLink(
                type="resource_link",
                name=Path(img.path).name,
                uri=image_uri(task.id, img.index),
                mime_type=img.mime_type,
                size=img.bytes,
                description=f"Full image ({img.width}x{img.height}), saved at {img.path}",
            )
        )
    return CallToolResult(
        content=content,
        structured_content=view.model_dump(mode="json"),
        is_error=task.status in ("failed", "unknown", "expired"),
    )
