"""The MCP App view's layout at 600x800 in a real browser, inside the test host: tasks are cards
set apart from each other, not touching."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client
from playwright.async_api import expect

from imagegen_mcp.sandbox import SandboxConfig
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.support.apps_host import APPS, open_host
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER

TIMEOUT_MS = 20_000


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=0.3, seed=3)


@pytest.fixture
async def apps_client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings, poller=FAST_POLLER), extensions=[APPS]) as client:
        yield client


async def test_the_view_s_task_cards_stand_apart(apps_client: Client) -> None:
    async with chromium() as browser:
        host = await open_host(browser, apps_client)
        await host.run_tool("generate_image", {"prompt": "a red fox", "wait_seconds": 20})
        await host.run_tool("generate_image", {"prompt": "a grey owl", "wait_seconds": 20})
        cards = host.view.get_by_role("list", name="Tasks").get_by_role("listitem")
        await expect(cards).to_have_count(2, timeout=TIMEOUT_MS)
        boxes = [await cards.nth(i).bounding_box() for i in range(2)]
        assert boxes[0] is not None and boxes[1] is not None
        gap = boxes[1]["y"] - (boxes[0]["y"] + boxes[0]["height"])
        assert gap >= 10, f"the cards are {gap}px apart"
        host.errors.assert_none()
