"""The MCP App: the ``ui://imagegen/view.html`` resource and the binding of the task tools to it.

Guarantees:
- The view is served through the SDK's Apps extension as ``text/html;profile=mcp-app`` with a
  CSP that names no external domain (the document fetches nothing).
- Its HTML (with a half-megabyte library) is read and built on the first ``resources/read`` and
  kept, never at import or ``build_server`` time: the cold start does not pay for it.
- ``generate_image``, ``edit_image`` and ``get_task`` carry ``_meta.ui.resourceUri`` only in the
  ``tools/list`` answers to clients that negotiated MCP Apps, and only those clients see the view
  in ``resources/list`` (an agent elsewhere never pays to read half a megabyte of HTML); every
  other client gets the lists it always got, byte for byte, and every client the same tool
  results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.resources import Resource

#: Where the view lives (``web.app_view`` builds it, on the first read).
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


async def view_for_apps_clients(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware on the wire form of the lists: for Apps clients, ``_meta.ui.resourceUri``
    on the bound tools; for the others, the view left out of ``resources/list``."""
    result = await call_next(ctx)
    if ctx.method not in ("tools/list", "resources/list") or not isinstance(result, dict):
        return result
    apps = client_supports_apps(ctx)
    if ctx.method == "tools/list" and apps:
        return _with_items(result, "tools", _stamp)
    if ctx.method == "resources/list" and not apps:
        return _with_items(result, "resources", _unless_view)
    return result


def _stamp(tool: dict[str, Any]) -> dict[str, Any] | None:
    if tool.get("name") not in BOUND_TOOLS:
        return tool
    meta = dict(tool.get("_meta") or {})
    # Only the nested key the Apps spec names: the flat ``ui/resourceUri`` of its first drafts
    # (deprecated; ext-apps hosts read the nested one first) would put an Apps client's
    # tools/list over its 10,240-byte budget.
    meta["ui"] = {**(meta.get("ui") or {}), "resourceUri": VIEW_URI}
    return {**tool, "_meta": meta}


def _unless_view(resource: dict[str, Any]) -> dict[str, Any] | None:
    return None if resource.get("uri") == VIEW_URI else resource


def _with_items(
    result: dict[str, Any], key: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> dict[str, Any]:
    items = result.get(key)
    if not isinstance(items, list):
        return result
    changed = [change(item) if isinstance(item, dict) else item for item in items]
    return {**result, key: [item for item in changed if item is not None]}


def app_view_options() -> tuple[Apps, Callable[..., Any]]:
    """The extension and the server middleware that add the view to ``MCPServer``."""
    return app_view_extension(), view_for_apps_clients
