"""``list_models``: the image models this server can use, filterable by capability, and the
same entries as the ``models://catalog`` resource. Read-only: nothing is sent upstream."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from imagegen_mcp.errors import InputError
from imagegen_mcp.tools.catalog_text import plain_table
from imagegen_mcp.tools.catalog_view import ModelList, model_list

CATALOG_URI = "models://catalog"


async def list_models(
    capability: Annotated[
        str | None,
        Field(
            max_length=64,
            description="e.g. edit, edit-only, mask, n, references, 4K, seedream, an id prefix.",
        ),
    ] = None,
) -> Annotated[CallToolResult, ModelList]:
    """What each image model takes: sizes, tiers, n, refs, options, price. Free."""
    try:
        listed = model_list(capability)
    except InputError as exc:
        raise ToolError(str(exc)) from None
    text = f"{plain_table(listed.models)}\nOptions, prompt limits and notes: structured result."
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=listed.model_dump(mode="json"),
    )


def catalog_json() -> str:
    """The ``models://catalog`` resource: every model, as ``list_models`` without a filter."""
    return model_list().model_dump_json()
