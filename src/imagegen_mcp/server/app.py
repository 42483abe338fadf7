"""MCP wiring: ``build_server(settings)`` - the tools, the resources and the upstream-callback
route. Which transport serves it is the CLI's choice (``server.cli``; HTTP in ``server.http``).

Nothing is opened at import time. The engine (store, HTTP client, poller) opens in a task the
lifespan starts, so the server answers ``initialize`` and ``tools/list`` without waiting for it
or even loading its code; every call that needs it waits for it (``tools.state``).
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from mcp import MCPError
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    UnexpectedResourceError,
)
from mcp.server.mcpserver.resources import BinaryResource, Resource
from mcp.server.mcpserver.resources import ResourceTemplate as SdkTemplate
from mcp.types import NotificationParams, ToolAnnotations
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imagegen_mcp import __version__
from imagegen_mcp.errors import ImagegenError
from imagegen_mcp.server.apps_view import app_view_options
from imagegen_mcp.server.resource_access import engine_of, resource_errors
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.server.task_resource import add_task_resource
from imagegen_mcp.server.tasks_core import TaskProtocol
from imagegen_mcp.server.tasks_protocol import TasksExtension
from imagegen_mcp.service.wire import callback_path
from imagegen_mcp.tools import catalog, files, roots
from imagegen_mcp.tools import images as tools
from imagegen_mcp.tools.arguments import strict_tool
from imagegen_mcp.tools.previews import PreviewPolicy
from imagegen_mcp.tools.state import AppState
from imagegen_mcp.tools.views import image_uri

if TYPE_CHECKING:
    from imagegen_mcp.service.poller import PollerConfig

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Image generation and editing through EvoLink's image models (list_models shows them and what
each takes: sizes, resolutions, qualities, n, references, options; pick one with `model`).
generate_image and edit_image cost credits; they wait up to ~40 s and return saved file paths,
small previews and image:// links. If a task is still running, call get_task(task_id) to keep
waiting - never call generate_image again to check progress (that pays for a new task).
save_image copies a result into the project (converted or downscaled if asked). list_tasks
shows recent work and credits spent. Every result is saved to disk automatically, even if you
stop waiting."""


class TypedTemplate(SdkTemplate):
    """A resource template whose (async, context-free) function returns a finished
    ``Resource``, served as it is.

    The SDK gives every read of a template the one MIME type declared on the template; saved
    images are PNG, JPEG or WebP, so each read must say its own (``SavedImage.mime_type``), and
    the template declares none."""

    async def create_resource(self, uri: str, params: dict[str, Any], context: Any) -> Resource:
        try:
            made = await self.fn(**params)
        except (ResourceError, MCPError):
            raise
        except Exception as exc:
            # A crash, reported as the SDK's own templates do: its text stays in the server log.
            raise UnexpectedResourceError(f"Error creating resource from template {uri}") from exc
        if not isinstance(made, Resource):
            raise UnexpectedResourceError(f"Template {self.uri_template} made no resource")
        return made


def add_typed_template(mcp: MCPServer[Any], template: SdkTemplate) -> None:
    # The SDK registers templates only from functions (``@mcp.resource``), never a template
    # object; its resource manager is the one place that holds them.
    mcp._resource_manager._templates[template.uri_template] = template


#: The module that loads the engine stack (imported by name, off the event loop).
RUNTIME = "imagegen_mcp.server.runtime"


class StateHolder:
    """Where the lifespan puts the open state, so the callback route can reach it: the SDK hands
    the lifespan's result to MCP handlers only, never to a custom HTTP route."""

    state: AppState | None = None


def build_server(
    settings: Settings,
    *,
    poller: PollerConfig | None = None,
    trust_roots: bool = True,
    page: bool = False,
    static_dir: Path | None = None,
) -> MCPServer[AppState]:
    """The MCP server; ``poller`` overrides the polling policy (tests use short intervals).
    ``trust_roots``: clients run on this machine (stdio, a loopback bind), so the folders their
    MCP roots name are folders here and may be read and written like the allowed ones.
    ``page``: serve the playground page and its API too (the HTTP app's routes);
    ``static_dir`` replaces the page's folder (tests)."""
    holder = StateHolder()
    # Protocol tasks for hosts that negotiate them (both eras); closed with the lifespan.
    tasks = TasksExtension(TaskProtocol(settings.db_path))

    async def run_engine(state: AppState, stop: anyio.Event) -> None:
        """Open the engine, hand it to ``state``, keep it running until ``stop``, close it."""
        async with AsyncExitStack() as stack:
            try:
                # The engine stack loads on a worker thread, so the event loop keeps answering.
                await anyio.to_thread.run_sync(importlib.import_module, RUNTIME)
                from imagegen_mcp.server.runtime import image_inputs, open_engine

                engine = await stack.enter_async_context(open_engine(settings, poller=poller))
                inputs = image_inputs(settings, engine)
            except Exception as exc:
                # ``serve`` checked the database and folders first: this is rare, and each call
                # says it in one line rather than the server dying without an answer.
                log.exception("the task engine failed to open")
                reason = str(exc) if isinstance(exc, ImagegenError) else type(exc).__name__
                state.opening.failed(
                    f"The server's task engine failed to open: {' '.join(reason.split())} "
                    "(the server log has details; restart the server once it is fixed)."
                )
                return
            state.opening.opened(engine, inputs)
            await stop.wait()

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        state = AppState(
            wait_seconds=settings.wait_seconds,
            default_model=settings.default_model,
            confirm_above=settings.confirm_above_credits,
            trust_roots=trust_roots,
            preview=PreviewPolicy(
                max_bytes=settings.preview_max_bytes, max_side=settings.preview_max_side
            ),
        )
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_engine, state, stop)
            holder.state = state
            try:
                async with tasks.core.running():
                    yield state
            finally:
                holder.state = None
                stop.set()
        state.opening.closed()

    # Per-request INFO lines from the HTTP library would flood the host's log view (stderr).
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    # Hints left out take the protocol's defaults (not read-only, destructive, not idempotent,
    # open world): every byte here is in every tools/list.
    paid = ToolAnnotations(destructiveHint=False)
    free = ToolAnnotations(readOnlyHint=True)
    local = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
    listing = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)
    # Destructive: with overwrite=true it replaces an existing file (the hint is about what a
    # call may do, so hosts may ask the user first); never without it.
    writes = ToolAnnotations(openWorldHint=False)
    view, view_lists = app_view_options()  # ui://imagegen/view.html, bound for Apps clients
    mcp: MCPServer[AppState] = MCPServer(
        "imagegen-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",
        # MCP tasks for hosts that negotiate them; the MCP App view for Apps clients.
        extensions=[tasks, view],
        middleware=[tasks.legacy, view_lists],
        # Strict tools: an unknown argument is refused before anything is paid.
        tools=[
            strict_tool(tools.generate_image, annotations=paid, title="Generate image"),
            strict_tool(tools.edit_image, annotations=paid, title="Edit image"),
            strict_tool(tools.get_task, annotations=free, title="Get task"),
            strict_tool(tools.list_tasks, annotations=local, title="List tasks"),
            strict_tool(catalog.list_models, annotations=listing, title="List image models"),
            strict_tool(files.save_image, annotations=writes, title="Save image"),
        ],
    )
    # The client's roots are asked once per session and forgotten when it says they changed.
    mcp._lowlevel_server.add_notification_handler(
        roots.ROOTS_CHANGED, NotificationParams, roots.roots_changed
    )

    # Served by the streamable-HTTP app only (stdio has no routes); the SDK leaves custom routes
    # outside its own auth, and server.http's bearer check exempts this path too. The ignore:
    # the SDK's ``custom_route`` has no return annotation.
    @mcp.custom_route(  # type: ignore[untyped-decorator]
        callback_path("{token}"), methods=["POST"], include_in_schema=False
    )
    async def upstream_callback(request: Request) -> Response:
        state = holder.state
        if state is None:
            return JSONResponse({"ok": False}, status_code=503)
        # The body is unsigned: it only triggers a confirming GET, its content is ignored.
        try:
            engine = await state.engine()
        except ImagegenError:
            return JSONResponse({"ok": False}, status_code=503)
        found = await engine.handle_callback(request.path_params["token"])
        return JSONResponse({"ok": found}, status_code=200 if found else 404)

    if page:
        # The playground page and its API, for the HTTP app (guarded by web.guard); a stdio
        # server never loads their code.
        from imagegen_mcp.web.routes import web_routes

        routes = web_routes(
            lambda: holder.state,
            home=settings.home,
            upstream=lambda: settings.upstream,
            static_dir=static_dir,
        )
        for route in routes:
            mcp.custom_route(route.path, methods=route.methods, include_in_schema=False)(
                route.endpoint
            )

    def state_of() -> AppState | None:
        return holder.state

    async def read_image(task_id: str, index: str) -> Resource:
        if not (index.isdigit() and len(index) <= 6):  # never echo a huge index back whole
            raise ResourceNotFoundError(
                f"No resource image://{task_id[:64]}/{index[:12]}: use "
                "image://<task_id>/<index> with index 0, 1, ... (image://recent lists them)."
            )
        async with resource_errors():
            image, data = await (await engine_of(state_of)).saved_image(task_id, int(index))
        return BinaryResource(
            uri=image_uri(task_id, image.index), name="image", data=data, mime_type=image.mime_type
        )

    images = TypedTemplate.from_function(
        read_image,
        uri_template="image://{task_id}/{index}",
        name="image",
        description="A saved image (full bytes; PNG, JPEG or WebP, as saved) by task id and index.",
    )
    # No MIME type on the template: it differs from image to image (each read says its own).
    add_typed_template(mcp, images.model_copy(update={"mime_type": None}))
    add_task_resource(mcp, state_of)  # task://{task_id}: the whole prompt

    @mcp.resource(
        "image://recent",
        name="recent-images",
        description="The 50 most recent saved images: URIs, paths, prompts.",
        mime_type="application/json",
    )
    async def recent_images() -> str:
        items: list[dict[str, Any]] = []
        async with resource_errors():
            engine = await engine_of(state_of)
            recent = await engine.recent(limit=50, status="completed")
        for task in recent:
            for img in task.images:
                items.append(
                    {
                        "uri": image_uri(task.id, img.index),
                        "path": img.path,
                        "prompt": task.request.prompt[:200],
                        "width": img.width,
                        "height": img.height,
                        "created_at": task.created_at.isoformat(),
                    }
                )
        return json.dumps(items[:50], indent=1)

    @mcp.resource(
        catalog.CATALOG_URI,
        name="model-catalog",
        description="Every image model and what it takes (list_models without a filter).",
        mime_type="application/json",
    )
    async def model_catalog() -> str:
        return catalog.catalog_json()

    return mcp
