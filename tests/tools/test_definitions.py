"""What every agent pays for on every turn: the whole tools/list, kept small and clean."""

from __future__ import annotations

import json

from mcp import Client

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
