"""The upstream client against the sandbox (the error mapping is tested in test_errors.py)."""

from __future__ import annotations

import pytest

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.errors import (
    AuthError,
    UpstreamNotFound,
    UpstreamRejected,
)
from imagegen_mcp.sandbox import Sandbox, SandboxConfig


async def test_old_style_sandbox_errors_are_understood() -> None:
    async with Sandbox(SandboxConfig(error_style="old")) as sb:
        async with EvoLinkClient(
            api_key=sb.api_key, api_base=sb.base_url, files_base=sb.base_url
        ) as client:
            with pytest.raises(UpstreamRejected) as info:
                await client.create_task({"model": "gpt-4o-image", "prompt": "x", "n": 3})
            assert info.value.code == "400"
            with pytest.raises(UpstreamNotFound):
                await client.get_task("task-unified-0-missing")
        async with EvoLinkClient(
            api_key="sk-wrong", api_base=sb.base_url, files_base=sb.base_url
        ) as client:
            with pytest.raises(AuthError, match="EVOLINK_API_KEY"):
                await client.get_task("task-unified-0-missing")
        assert sb.counters.creates == 0


async def test_api_key_is_not_sent_to_download_hosts(sandbox: Sandbox) -> None:
    async with EvoLinkClient(
        api_key=sandbox.api_key, api_base=sandbox.base_url, files_base=sandbox.base_url
    ) as client:
        assert "authorization" not in {k.lower() for k in client._downloads.headers}
