"""task://{task_id}: a task's whole request as JSON, for any client (the MCP App view repeats
the prompt from it): list_tasks cuts prompts at 200 characters, this does not."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError

from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.support.settings import FAST_POLLER

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_the_task_resource_gives_the_whole_prompt_and_the_model(settings: Settings) -> None:
    prompt = "a quiet street after rain, " * 30  # 810 characters
    async with Client(build_server(settings, poller=FAST_POLLER)) as client:
        made = await client.call_tool(
            "generate_image", {"prompt": prompt, "model": "gpt-image-1", "wait_seconds": 20}
        )
        assert made.structured_content is not None
        task_id = made.structured_content["task_id"]
        read = (await client.read_resource(f"task://{task_id}")).contents[0]
        assert read.mime_type == "application/json"
        record = json.loads(read.text)  # type: ignore[union-attr]  # a text resource
        assert record["prompt"] == prompt and record["model"] == "gpt-image-1"
        assert record["status"] == "completed"
        assert record["images"] == [f"image://{task_id}/0"]
        listed = await client.call_tool("list_tasks", {})
        assert listed.structured_content is not None
        assert len(listed.structured_content["tasks"][0]["prompt"]) == 200

        with pytest.raises(MCPError, match="No task"):
            await client.read_resource("task://ig-000000000000")
