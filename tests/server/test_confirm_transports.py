"""The question before paying (IMAGEGEN_CONFIRM_ABOVE_CREDITS) over the real transports: a stdio
subprocess and streamable HTTP, in the 2026 protocol (an ``InputRequiredResult`` round trip)
and the handshake era (an ``elicitation/create`` request during the call)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox
from tests.conftest import make_settings
from tests.server.conftest import serve_http
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ASKED = "This will use about 5 credits (gpt-4o-image, 2 images). Proceed?"


class User:
    """Gives these answers in turn (True: accept, False: decline)."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        self.asked.append(params.message)
        if self.answers.pop(0):
            return ElicitResult(action="accept", content={"proceed": True})
        return ElicitResult(action="decline")


async def test_stdio_asks_and_pays_only_after_the_user_accepts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "EVOLINK_API_KEY": SANDBOX_API_KEY,
        "IMAGEGEN_API_BASE": sandbox.base_url,
        "IMAGEGEN_FILES_BASE": sandbox.base_url,
        "IMAGEGEN_HOME": str(tmp_path / "home"),
        "IMAGEGEN_CONFIRM_ABOVE_CREDITS": "4",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "imagegen_mcp"], env=env)
    user = User(False, True)
    with anyio.fail_after(60):
        async with Client(params, elicitation_callback=user) as client:
            declined = await client.call_tool("generate_image", {"prompt": "foxes", "n": 2})
            assert declined.is_error and "declined" in text_of(declined)
            assert sandbox.counters.create_requests == 0
            accepted = await client.call_tool("generate_image", {"prompt": "foxes", "n": 2})
    assert not accepted.is_error, text_of(accepted)
    assert accepted.structured_content is not None
    assert accepted.structured_content["status"] == "completed"
    assert user.asked == [ASKED, ASKED]
    assert sandbox.counters.creates == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_asks_before_paying(
    sandbox: Sandbox, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", confirm_above_credits=4.0)
    user = User(True)
    async with (
        serve_http(settings) as base,
        Client(streamable_http_client(f"{base}/mcp"), mode=mode, elicitation_callback=user) as c,
    ):
        result = await c.call_tool("generate_image", {"prompt": "over http", "n": 2})
    assert not result.is_error, text_of(result)
    assert user.asked == [ASKED]
    assert sandbox.counters.creates == 1
