"""The MCP Apps test host (``tests/support/web/``) in a real browser, relaying to a real server.

    async with Client(server, extensions=[APPS]) as client, chromium() as browser:
        host = await open_host(browser, client)
        await host.run_tool("generate_image", {...})   # as a chat host does for the model
        frame = host.view                              # the view's iframe, for locators
        host.errors.assert_none()

The host page and its files are served from a route this module fulfils (no HTTP server); the
view's HTML is read from the server (``resources/read``) like a host does.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client, MCPError
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser, FrameLocator, Page, Route

from tests.support.browser import PageErrors, open_page

HOST_DIR = Path(__file__).parent / "web"
HOST_ORIGIN = "http://apps-host.test"
VIEW_URI = "ui://imagegen/view.html"
#: What a host that renders MCP Apps advertises.
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
#: The host context a light-themed chat host sends.
HOST_CONTEXT = {
    "theme": "light",
    "displayMode": "inline",
    "platform": "web",
    "containerDimensions": {"width": 600, "maxHeight": 800},
    "styles": {"variables": {"--color-ring-primary": "#c2410c"}},
}


@dataclass
class Relay:
    """``window.mcpRelay``: the view's requests, through the host, to the MCP client."""

    client: Client
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, method: str, params_json: str) -> str:
        params = json.loads(params_json)
        self.calls.append((method, params))
        try:
            if method == "tools/call":
                result: Any = await self.client.call_tool(
                    params["name"], params.get("arguments") or {}
                )
            elif method == "resources/read":
                result = await self.client.read_resource(params["uri"])
            else:
                return json.dumps({"error": f"the test host does not relay {method}"})
        except MCPError as exc:
            return json.dumps({"error": str(exc)})
        return json.dumps(
            {"result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}
        )

    def tool_calls(self, name: str) -> list[dict[str, Any]]:
        return [
            p.get("arguments") or {}
            for m, p in self.calls
            if m == "tools/call" and p["name"] == name
        ]


@dataclass
class Host:
    page: Page
    errors: PageErrors
    relay: Relay

    @property
    def view(self) -> FrameLocator:
        return self.page.frame_locator("iframe")

    async def run_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call the tool as the model would; the host hands its input and result to the view."""
        result: dict[str, Any] = await self.page.evaluate(
            "([name, args]) => window.hostRunTool(name, args)", [name, arguments]
        )
        return result


async def _serve_host_files(route: Route) -> None:
    name = route.request.url.removeprefix(HOST_ORIGIN + "/").split("?")[0]
    path = HOST_DIR / name
    if "/" in name or not path.is_file():
        await route.fulfill(status=404, body="not found")
        return
    mime = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0]
    await route.fulfill(status=200, body=path.read_bytes(), content_type=mime or "text/plain")


async def open_host(
    browser: Browser,
    client: Client,
    *,
    reads_resources: bool = True,
    width: int = 600,
    height: int = 800,
) -> Host:
    """The host page with the view loaded and initialized (its handshake done).
    ``reads_resources``: whether the host forwards the view's ``resources/read``."""
    page, errors = await open_page(browser, "about:blank", width=width, height=height)
    relay = Relay(client)
    await page.route(f"{HOST_ORIGIN}/**", _serve_host_files)
    await page.expose_function("mcpRelay", relay)
    await page.goto(f"{HOST_ORIGIN}/host.html")
    read = await client.read_resource(VIEW_URI)
    html = read.contents[0].text  # type: ignore[union-attr]  # the view is a text resource
    await page.wait_for_function("() => typeof window.hostOpen === 'function'")
    await page.evaluate(
        "([html, context, reads]) => window.hostOpen(html, context, reads)",
        [html, HOST_CONTEXT, reads_resources],
    )
    return Host(page, errors, relay)
