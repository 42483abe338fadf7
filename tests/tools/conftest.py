"""An in-memory MCP client on a server wired to the sandbox, and a helper to read results."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.conftest import FAST_POLLER


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings, poller=FAST_POLLER)) as c:
        yield c


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))
