"""list_tasks: a short text summary next to its structured content, with the credits reserved
in the last 24 hours and what is left of the daily budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.app import build_server
from imagegen_mcp.service.engine import Spend
from tests.support.settings import FAST_POLLER, make_settings
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def _two_tasks(client: Client) -> None:
    # The sandbox reserves 2.5 credits an image: 1 + 2 images = 7.5 credits.
    for n in (1, 2):
        result = await client.call_tool("generate_image", {"prompt": f"{n} foxes", "n": n})
        assert not result.is_error, text_of(result)


async def test_list_tasks_reports_spend_without_a_budget(client: Client) -> None:
    await _two_tasks(client)
    result = await client.call_tool("list_tasks", {})
    data = result.structured_content
    assert data is not None
    assert data["spend"] == {"last_24h": 7.5}  # no budget, nothing left of it
    assert "Credits reserved in the last 24 h: 7.5 (no daily budget set)." in text_of(result)
    assert [t["model"] for t in data["tasks"]] == ["gpt-4o-image", "gpt-4o-image"]


async def test_list_tasks_reports_what_is_left_of_the_daily_budget(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=20)
    async with Client(build_server(settings, poller=FAST_POLLER)) as client:
        await _two_tasks(client)
        result = await client.call_tool("list_tasks", {"limit": 1})
    data = result.structured_content
    assert data is not None
    assert data["spend"] == {"last_24h": 7.5, "budget": 20.0, "left": 12.5}
    text = text_of(result)
    assert "7.5 of the 20 daily budget (12.5 left)" in text
    assert "2 tasks: 2 completed." in text


async def test_list_tasks_text_is_a_short_summary(client: Client) -> None:
    long_prompt = "a very detailed picture of " + "foxes and hares in a snowy field " * 20
    ids = []
    for i in range(20):
        result = await client.call_tool(
            "generate_image", {"prompt": f"{i} {long_prompt}", "wait_seconds": 0}
        )
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None
        ids.append(result.structured_content["task_id"])
    result = await client.call_tool("list_tasks", {})
    text = text_of(result)
    assert len(text) < 1500, text
    assert "{" not in text and '"tasks"' not in text
    lines = text.splitlines()
    task_lines = [line for line in lines if line.startswith("ig-")]
    assert [line.split()[0] for line in task_lines] == ids[::-1]  # newest first
    assert all("gpt-4o-image n=1" in line for line in task_lines)
    assert lines[0].startswith("20 tasks: ")
    # The structured content still holds every task, prompts and all.
    assert result.structured_content is not None
    assert len(result.structured_content["tasks"]) == 20


async def test_list_tasks_with_few_tasks_shows_more_of_each_prompt(client: Client) -> None:
    prompt = "a lighthouse on a cliff at dusk, waves crashing below, gulls circling above it"
    await client.call_tool("generate_image", {"prompt": prompt})
    text = text_of(await client.call_tool("list_tasks", {}))
    assert prompt[:59] in text and prompt not in text  # cut at about 60 characters


async def test_list_tasks_when_empty(client: Client) -> None:
    result = await client.call_tool("list_tasks", {})
    assert text_of(result).splitlines() == [
        "No tasks yet.",
        "Credits reserved in the last 24 h: 0 (no daily budget set).",
    ]


def test_nothing_is_left_once_the_budget_is_spent() -> None:
    # The budget may be passed by at most one task's cost (storage.intents): never below 0.
    assert Spend(last_24h=22.5, budget=20.0).left == 0.0
    assert Spend(last_24h=7.5, budget=None).left is None
