"""MCP roots over streamable HTTP: each session has its own, asked on the call's own stream."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from imagegen_mcp.sandbox import Sandbox
from tests.server.conftest import serve_http
from tests.support.settings import FAST_POLLER, WAIT, make_settings
from tests.tools.conftest import text_of
from tests.tools.test_roots import Roots, result_uri, save

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]


async def test_two_http_sessions_each_save_into_their_own_roots(
    sandbox: Sandbox, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    roots_a, roots_b = Roots(first), Roots(second)
    settings = make_settings(sandbox, tmp_path / "home")
    async with (
        serve_http(settings, poller=FAST_POLLER) as base,
        Client(f"{base}/mcp", mode="legacy", list_roots_callback=roots_a) as a,
        Client(f"{base}/mcp", mode="legacy", list_roots_callback=roots_b) as b,
    ):
        uri = await result_uri(a)
        assert not (await save(a, uri, first / "a.png")).is_error
        assert not (await save(b, uri, second / "b.png")).is_error
        crossed = [await save(a, uri, second / "x.png"), await save(b, uri, first / "x.png")]
        assert all(r.is_error and "outside" in text_of(r) for r in crossed)
        # A change in one session is that session's alone.
        roots_a.uris = [second.as_uri()]
        await a.send_roots_list_changed()
        with anyio.fail_after(WAIT):
            while roots_a.asked < 2:
                moved = await save(a, uri, second / "moved.png")
                await anyio.sleep(0.01)
        assert not moved.is_error, text_of(moved)
        assert (await save(b, uri, first / "y.png")).is_error
        assert (roots_a.asked, roots_b.asked) == (2, 1)
