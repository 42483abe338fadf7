"""An in-memory MCP client on a server wired to the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client

from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.support.mcp import text_of
from tests.support.settings import FAST_POLLER

__all__ = ["client", "text_of"]  # text_of: tests import it from here


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings, poller=FAST_POLLER)) as c:
        yield c
