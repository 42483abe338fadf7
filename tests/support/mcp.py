"""Reading MCP results the way an agent would."""

from __future__ import annotations

from mcp.types import CallToolResult, TextContent


def text_of(result: CallToolResult) -> str:
    """The text blocks of a tool result, one per line."""
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))
