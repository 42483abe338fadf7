"""The MCP App resource and the tools' binding to it, as clients with and without Apps see them."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer
from mcp.server.apps import APP_MIME_TYPE, Apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from imagegen_mcp.server import app as server_app
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.web import app_view
from imagegen_mcp.web.app_view import view_html
from tests.server.conftest import serve_http
from tests.support.apps_host import APPS, HOST_DIR, VIEW_URI
from tests.support.settings import FAST_POLLER

BOUND = {"generate_image", "edit_image", "get_task"}
VENDOR = Path(app_view.__file__).parent / "vendor"
MODES: list[dict[str, Any]] = [{}, {"mode": "legacy"}]


def compact(listed: Any) -> str:
    return json.dumps(
        listed.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":")
    )


@pytest.fixture
def server(settings: Settings) -> MCPServer[Any]:
    return build_server(settings, poller=FAST_POLLER)


@pytest.fixture
async def apps_client(server: MCPServer[Any]) -> AsyncIterator[Client]:
    async with Client(server, extensions=[APPS]) as client:
        yield client


async def test_the_view_is_an_mcp_app_resource_whose_csp_names_no_domain(
    server: MCPServer[Any], apps_client: Client
) -> None:
    read = await apps_client.read_resource(VIEW_URI)
    [content] = read.contents
    assert content.mime_type == APP_MIME_TYPE == "text/html;profile=mcp-app"
    csp = (content.meta or {})["ui"]["csp"]
    assert csp and all(domains == [] for domains in csp.values()), csp
    listed = {str(r.uri): r for r in (await apps_client.list_resources()).resources}
    assert listed[VIEW_URI].mime_type == APP_MIME_TYPE
    assert (listed[VIEW_URI].meta or {})["ui"]["csp"] == csp  # hosts may review it when listing
    async with Client(server) as plain:  # an agent never meets half a megabyte of HTML
        assert VIEW_URI not in {str(r.uri) for r in (await plain.list_resources()).resources}
    assert content.text == view_html()  # type: ignore[union-attr]


def test_the_view_html_is_self_contained() -> None:
    html = view_html()
    lowered = html.lower()
    assert lowered.count("<script") == 1 and '<script type="module">' in lowered
    for remote in ("<script src", "<link", "<iframe", 'src="http', 'href="http'):
        assert remote not in lowered, remote
    [styles] = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert "url(" not in styles and "@import" not in styles
    for loader in (
        "import(",
        "fetch(",
        "xmlhttprequest",
        "new websocket",
        "eventsource(",
        "importscripts",
    ):
        assert loader not in lowered, loader
    # Every ES import and export was inlined: none is left at the start of a line.
    assert not re.search(r"^\s*(import|export)\b", html, re.MULTILINE)
    assert len(html) < 700_000


@pytest.mark.parametrize("mode", MODES, ids=["2026", "legacy"])
async def test_an_apps_client_sees_the_view_on_exactly_the_three_task_tools(
    server: MCPServer[Any], mode: dict[str, Any]
) -> None:
    async with Client(server, extensions=[APPS], **mode) as client:
        tools = (await client.list_tools()).tools
    bound = {t.name for t in tools if (t.meta or {}).get("ui", {}).get("resourceUri") == VIEW_URI}
    assert bound == BOUND
    for tool in tools:
        if tool.name in BOUND:
            # No visibility: for the model and the view. The flat key is for older hosts.
            assert tool.meta == {"ui": {"resourceUri": VIEW_URI}}
        else:
            assert tool.meta is None, tool.name


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_over_http_each_client_gets_the_binding_its_capabilities_ask_for(
    settings: Settings, mode: Literal["auto", "legacy"]
) -> None:
    async with serve_http(settings) as base:
        async with Client(streamable_http_client(f"{base}/mcp"), mode=mode) as plain:
            assert all(t.meta is None for t in (await plain.list_tools()).tools)
        async with Client(
            streamable_http_client(f"{base}/mcp"), mode=mode, extensions=[APPS]
        ) as apps:
            tools = (await apps.list_tools()).tools
            assert {t.name for t in tools if t.meta} == BOUND
            read = await apps.read_resource(VIEW_URI)
            assert read.contents[0].mime_type == APP_MIME_TYPE


async def _pass_through(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    return await call_next(ctx)


@pytest.mark.parametrize("mode", MODES, ids=["2026", "legacy"])
async def test_a_client_without_apps_gets_the_lists_the_server_gives_without_the_view(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, mode: dict[str, Any]
) -> None:
    async with Client(build_server(settings, poller=FAST_POLLER), **mode) as client:
        with_view = compact(await client.list_tools())
        resources_with_view = compact(await client.list_resources())
        async with Client(
            build_server(settings, poller=FAST_POLLER), extensions=[APPS], **mode
        ) as apps:
            stamped = await apps.list_tools()
    monkeypatch.setattr(server_app, "app_view_options", lambda: (Apps(), _pass_through))
    async with Client(build_server(settings, poller=FAST_POLLER), **mode) as client:
        without_view = compact(await client.list_tools())
        assert compact(await client.list_resources()) == resources_with_view
    assert with_view == without_view
    # An Apps client's list is the same but for the binding.
    for tool in stamped.tools:
        tool.meta = None
    assert compact(stamped) == without_view


async def test_tool_results_are_the_same_for_clients_with_and_without_apps(
    server: MCPServer[Any], apps_client: Client
) -> None:
    made = await apps_client.call_tool("generate_image", {"prompt": "a red fox"})
    assert made.structured_content is not None and made.structured_content["status"] == "completed"
    args = {"task_id": made.structured_content["task_id"]}
    async with Client(server) as plain:
        expected = (await plain.call_tool("get_task", args)).model_dump(mode="json")
    assert (await apps_client.call_tool("get_task", args)).model_dump(mode="json") == expected


def test_the_view_is_built_on_its_first_read_never_at_start() -> None:
    code = (
        "import sys\n"
        "from imagegen_mcp.server.app import build_server\n"
        "from imagegen_mcp.server.settings import load_settings\n"
        "build_server(load_settings(EVOLINK_API_KEY='sk-test'))\n"
        "print(' '.join(m for m in ('imagegen_mcp.web.app_view', 'imagegen_mcp.web.inline')"
        " if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == [], proc.stdout


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        (VENDOR, "ext-apps-app-with-deps-2.0.4.js"),
        (HOST_DIR, "ext-apps-app-bridge-2.0.4.bundle.js"),
    ],
)
def test_vendored_browser_code_is_the_file_its_readme_names_with_its_licence(
    folder: Path, name: str
) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert name in readme and digest in readme, f"{name} changed: update {folder}/README.md"
    licences = [p for p in folder.iterdir() if p.name.startswith(("LICENSE", "LICENCE"))]
    assert licences and all("Permission is hereby granted" in p.read_text() for p in licences)
