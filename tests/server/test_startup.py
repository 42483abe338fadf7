"""Start-up: the server answers before its engine opens, and only the engine's users wait."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, MCPError

from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.support.settings import FAST_POLLER

#: Modules of the engine stack: none may load before the server can answer tools/list.
ENGINE_STACK = (
    "imagegen_mcp.server.runtime",
    "imagegen_mcp.service.engine",
    "imagegen_mcp.service.poller",
    "imagegen_mcp.service.inputs",
    "imagegen_mcp.service.exports",
    "imagegen_mcp.api.client",
    "imagegen_mcp.storage.db",
)


def test_what_serve_loads_before_answering_holds_none_of_the_engine_stack() -> None:
    code = (
        "import sys\n"
        "import imagegen_mcp.server.cli, imagegen_mcp.server.startup, imagegen_mcp.server.app\n"
        f"print(' '.join(m for m in {ENGINE_STACK!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == [], proc.stdout


#: Loaded on first use only, never to build the server: the sandbox (asked about by the
#: playground's first request), Pillow, and the MCP App's half-megabyte view.
FIRST_USE_ONLY = (*ENGINE_STACK, "imagegen_mcp.sandbox", "PIL", "imagegen_mcp.web.app_view")
#: What only the HTTP app serves: a stdio server never loads the playground's code.
PAGE = ("imagegen_mcp.web.routes", "imagegen_mcp.web.jobs", "imagegen_mcp.web.uploads")


def test_building_the_server_loads_nothing_that_waits_for_first_use(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from imagegen_mcp.server.app import build_server\n"
        "from imagegen_mcp.server.settings import load_settings\n"
        f"build_server(load_settings(home={str(tmp_path)!r}, api_key='k'))\n"
        f"print(' '.join(m for m in {(*FIRST_USE_ONLY, *PAGE)!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == [], proc.stdout


async def test_an_engine_that_fails_to_open_leaves_the_list_and_says_why_on_each_call(
    settings: Settings,
) -> None:
    # serve checks the database before any transport; a server built without that check (or
    # one whose database broke in between) still answers, and each use says why in one line.
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    settings.db_path.write_bytes(b"not a database, just bytes " * 200)
    async with Client(build_server(settings, poller=FAST_POLLER)) as client:
        assert len((await client.list_tools()).tools) == 6
        listed = await client.call_tool("list_models", {"capability": "mask"})
        assert not listed.is_error

        result = await client.call_tool("list_tasks", {})
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "\n" not in text
        assert text.startswith("The server's task engine failed to open: ")
        assert "damaged" in text

        with pytest.raises(MCPError, match=r"task engine failed to open: .*damaged"):
            await client.read_resource("image://recent")
        with pytest.raises(MCPError, match=r"task engine failed to open: .*damaged"):
            await client.read_resource("image://abc/0")


async def test_with_the_question_on_a_failed_engine_is_still_one_line(settings: Settings) -> None:
    settings = settings.model_copy(update={"confirm_above_credits": 1.0})
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    settings.db_path.write_bytes(b"not a database, just bytes " * 200)
    async with Client(build_server(settings, poller=FAST_POLLER)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a kite"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("The server's task engine failed to open: ") and "\n" not in text
