"""The MCP App: the ``ui://imagegen/view.html`` resource and the binding of the task tools to it.

Guarantees:
- The view is served through the SDK's Apps extension as ``text/html;profile=mcp-app`` with a
  CSP that names no external domain (the document fetches nothing).
- Its HTML (with a half-megabyte library) is read and built on the first ``resources/read`` and
  kept, never at import or ``build_server`` time: the cold start does not pay for it.
- ``generate_image``, ``edit_image`` and ``get_task`` carry ``_meta.ui.resourceUri`` only in the
  ``tools/list`` answers to clients that negotiated MCP Apps; every other client gets the
  ``tools/list`` it always got, byte for byte, and every client the same tool results.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.resources import Resource

#: Where the view lives (``web.app_view`` builds it; repeated here so nothing loads it early).
VIEW_URI = "ui://imagegen/view.html"
#: The tools whose results the view shows.
BOUND_TOOLS = frozenset({"generate_image", "edit_image", "get_task"})
#: No connect, resource, frame or base-uri domain: everything the view needs is inline, and the
#: images come through the host as data: URIs.
VIEW_CSP = ResourceCsp(connect_domains=[], resource_domains=[])


class ViewResource(Resource):
    """The view's HTML, built on the first read (``web.app_view.view_html`` keeps it)."""

    async def read(self) -> str:
        from imagegen_mcp.web.app_view import view_html

        # The first build reads and joins about 0.6 MB: off the event loop.
        return await anyio.to_thread.run_sync(view_html)


def app_view_extension() -> Apps:
    apps = Apps()
    apps.add_resource(
        ViewResource(
            uri=VIEW_URI,
            name="image-tasks-view",
            title="Image tasks",
            description="Interactive view of an image task: progress, full-size images, edits.",
            meta={"ui": {"csp": VIEW_CSP.model_dump(by_alias=True, exclude_none=True)}},
        )
    )
    return apps


async def stamp_view_on_tools(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware: ``_meta.ui.resourceUri`` on the bound tools, for Apps clients only."""
    result = await call_next(ctx)
    if ctx.method != "tools/list" or not isinstance(result, dict):
        return result
    if not client_supports_apps(ctx):
        return result
    tools = result.get("tools")
    if not isinstance(tools, list):
        return result
    stamped = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("name") in BOUND_TOOLS:
            meta = dict(tool.get("_meta") or {})
            meta["ui"] = {**(meta.get("ui") or {}), "resourceUri": VIEW_URI}
            tool = {**tool, "_meta": meta}
        stamped.append(tool)
    return {**result, "tools": stamped}


def app_view_options() -> dict[str, Any]:
    """Keyword arguments that add the view: ``MCPServer(..., **app_view_options())``."""
    return {"extensions": [app_view_extension()], "middleware": [stamp_view_on_tools]}
