"""What every agent pays for on every turn: the whole tools/list, kept small and clean."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp import Client

from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.mcp_wire import HANDSHAKE, MODERN, TASKS_V2, WireClient

#: The budget for the whole tools/list answer, as compact JSON.
MAX_TOOLS_LIST_BYTES = 10_240


async def test_the_whole_tools_list_fits_in_10_kb_of_compact_json(client: Client) -> None:
    listed = await client.list_tools()
    size = len(
        json.dumps(
            listed.model_dump(mode="json", by_alias=True, exclude_none=True),
            separators=(",", ":"),
        )
    )
    names = [tool.name for tool in listed.tools]
    assert len(names) >= 6, names  # every tool the server offers is in the measure
    assert size <= MAX_TOOLS_LIST_BYTES, f"tools/list is {size} bytes"


async def test_every_tool_has_a_title_an_output_schema_and_a_flush_description(
    client: Client,
) -> None:
    for tool in (await client.list_tools()).tools:
        assert tool.title, tool.name
        assert tool.output_schema is not None, tool.name
        description = tool.description or ""
        assert description and "\n " not in description, (tool.name, description)
        assert len(description) <= 300, (tool.name, len(description))


#: What a host may declare that changes tools/list: MCP Apps (the view's binding), and the
#: 2026-07-28 tasks extension; on 2025-11-25 every client is offered tasks.
APPS_CAPS: dict[str, Any] = {
    "extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}
}
ALL_CAPS: dict[str, Any] = {"extensions": {**APPS_CAPS["extensions"], **TASKS_V2["extensions"]}}


@pytest.mark.parametrize("era", [HANDSHAKE, MODERN])
@pytest.mark.parametrize("caps", [{}, APPS_CAPS, ALL_CAPS], ids=["plain", "apps", "apps+tasks"])
async def test_tools_list_fits_the_budget_for_every_kind_of_host(
    settings: Settings, era: str, caps: dict[str, Any]
) -> None:
    # On the wire, as a host reads it: the Apps binding (`_meta.ui`) and 2025-11-25's
    # `execution.taskSupport` are added per client, and must fit too.
    async with serve_http(settings) as base, httpx2.AsyncClient(timeout=30) as http:
        client = WireClient(http, f"{base}/mcp", era, caps)
        await client.open()
        listed = await client.request("tools/list", {})
    size = len(json.dumps(listed, separators=(",", ":")))
    assert size <= MAX_TOOLS_LIST_BYTES, f"tools/list is {size} bytes for {era} {caps}"
    bound = {t["name"] for t in listed["tools"] if "ui" in (t.get("_meta") or {})}
    assert bound == ({"generate_image", "edit_image", "get_task"} if caps else set())
