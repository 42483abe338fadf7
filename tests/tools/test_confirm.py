"""IMAGEGEN_CONFIRM_ABOVE_CREDITS: a request estimated above it is paid only once the user
accepts, asked through MCP elicitation (both the 2026-07-28 round trip and the older request
during the call); a decline, a cancel or a client that cannot be asked pays for nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from PIL import Image

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings, load_settings
from tests.support.settings import FAST_POLLER, make_settings
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The default model (gpt-4o-image) is priced 2.5 credits an image: 1 image is below this, 2 above.
THRESHOLD = 4.0
NOTHING_PAID = "Nothing was uploaded, created or paid"

Answer = Literal["accept", "decline", "cancel", "accept-no"]
Mode = Literal["auto", "legacy"]


class User:
    """Answers every question the same way, and remembers what it was asked."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        self.asked.append(params.message)
        if self.answer == "accept":
            return ElicitResult(action="accept", content={"proceed": True})
        if self.answer == "accept-no":  # accepted the form, answering "no"
            return ElicitResult(action="accept", content={"proceed": False})
        return ElicitResult(action=self.answer)


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    return make_settings(sandbox, tmp_path / "home", confirm_above_credits=THRESHOLD)


Connect = Callable[..., Any]


@pytest.fixture
def connect(settings: Settings) -> Connect:
    @asynccontextmanager
    async def open_client(user: User | None, mode: Mode = "auto") -> AsyncIterator[Client]:
        server = build_server(settings, poller=FAST_POLLER)
        async with Client(server, mode=mode, elicitation_callback=user) as client:
            yield client

    return open_client


@pytest.fixture
def picture(settings: Settings) -> str:
    path = settings.home.parent / "picture.png"
    Image.new("RGB", (256, 256), (200, 40, 40)).save(path)
    return str(path)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_accepted_request_is_created_and_saved_after_one_question(
    connect: Connect, sandbox: Sandbox, mode: Mode
) -> None:
    user = User("accept")
    async with connect(user, mode) as client:
        result = await client.call_tool("generate_image", {"prompt": "two foxes", "n": 2})
        assert not result.is_error, text_of(result)
        data = result.structured_content
        assert data is not None and data["status"] == "completed"
        assert all(Path(img["path"]).is_file() for img in data["images"])
        assert len(data["images"]) == 2
    assert user.asked == ["This will use about 5 credits (gpt-4o-image, 2 images). Proceed?"]
    assert sandbox.counters.creates == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("answer", ["decline", "accept-no"])
async def test_declined_request_uploads_and_creates_nothing(
    connect: Connect, sandbox: Sandbox, picture: str, answer: Answer, mode: Mode
) -> None:
    user = User(answer)
    async with connect(user, mode) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "foxes", "n": 2, "reference_images": [picture]}
        )
        listed = await client.call_tool("list_tasks", {})
    assert result.is_error and result.structured_content is None
    text = text_of(result)
    assert "the user declined" in text and NOTHING_PAID in text
    assert len(user.asked) == 1
    assert sandbox.counters.create_requests == 0 and sandbox.counters.uploads == 0
    assert listed.structured_content is not None and listed.structured_content["tasks"] == []


async def test_cancelled_question_pays_for_nothing(
    connect: Connect, sandbox: Sandbox, picture: str
) -> None:
    user = User("cancel")
    async with connect(user) as client:
        result = await client.call_tool("edit_image", {"prompt": "bluer", "image": picture, "n": 2})
    assert result.is_error
    assert "cancelled the question" in text_of(result) and NOTHING_PAID in text_of(result)
    assert "gpt-4o-image, 2 images" in user.asked[0]
    assert sandbox.counters.create_requests == 0 and sandbox.counters.uploads == 0


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_client_without_elicitation_gets_a_refusal_naming_the_setting(
    connect: Connect, sandbox: Sandbox, picture: str, mode: Mode
) -> None:
    async with connect(None, mode) as client:
        result = await client.call_tool("edit_image", {"prompt": "bluer", "image": picture, "n": 2})
    assert result.is_error
    text = text_of(result)
    assert "IMAGEGEN_CONFIRM_ABOVE_CREDITS=4" in text and "no MCP elicitation" in text
    assert "about 5 credits" in text and NOTHING_PAID in text
    assert sandbox.counters.create_requests == 0 and sandbox.counters.uploads == 0


async def test_request_below_the_threshold_is_not_asked(connect: Connect, sandbox: Sandbox) -> None:
    user = User("decline")
    async with connect(user) as client:
        result = await client.call_tool("generate_image", {"prompt": "one fox"})
    assert not result.is_error, text_of(result)
    assert user.asked == []
    assert sandbox.counters.creates == 1


async def test_unknown_cost_is_asked_until_a_charge_tells_it(
    connect: Connect, sandbox: Sandbox
) -> None:
    # gpt-image-1 has no price in the catalog: the first request's cost is unknown.
    user = User("accept")
    async with connect(user) as client:
        first = await client.call_tool("generate_image", {"prompt": "a", "model": "gpt-image-1"})
        assert not first.is_error, text_of(first)
        assert len(user.asked) == 1 and "cost of this request is not known" in user.asked[0]
        # The sandbox charged 2.5 for that image: the next one is estimated, below the threshold.
        second = await client.call_tool("generate_image", {"prompt": "b", "model": "gpt-image-1"})
        assert not second.is_error, text_of(second)
    assert len(user.asked) == 1
    assert sandbox.counters.creates == 2


async def test_unknown_cost_without_elicitation_is_refused(
    connect: Connect, sandbox: Sandbox
) -> None:
    async with connect(None) as client:
        result = await client.call_tool("generate_image", {"prompt": "a", "model": "gpt-image-1"})
    assert result.is_error and "unknown number of credits" in text_of(result)
    assert sandbox.counters.create_requests == 0


async def test_invalid_request_is_refused_as_usual_without_a_question(
    connect: Connect, sandbox: Sandbox
) -> None:
    user = User("accept")
    async with connect(user) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "n": 3})
    assert result.is_error and "takes n 1, 2, 4, not 3" in text_of(result)
    assert user.asked == []
    assert sandbox.counters.create_requests == 0


async def test_without_the_setting_nothing_is_asked(sandbox: Sandbox, tmp_path: Path) -> None:
    user = User("decline")
    server = build_server(make_settings(sandbox, tmp_path / "home"), poller=FAST_POLLER)
    async with Client(server, elicitation_callback=user) as client:
        result = await client.call_tool("generate_image", {"prompt": "four", "n": 4})
    assert not result.is_error, text_of(result)
    assert user.asked == []


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_the_setting_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("IMAGEGEN_CONFIRM_ABOVE_CREDITS", value)
    with pytest.raises(ConfigError, match="IMAGEGEN_CONFIRM_ABOVE_CREDITS"):
        load_settings()
    monkeypatch.setenv("IMAGEGEN_CONFIRM_ABOVE_CREDITS", "2.5")
    assert load_settings().confirm_above_credits == 2.5


@pytest.mark.parametrize("confirm", [None, THRESHOLD])
async def test_a_request_over_the_daily_budget_is_refused_before_upload_and_unasked(
    sandbox: Sandbox, tmp_path: Path, confirm: float | None
) -> None:
    settings = make_settings(
        sandbox, tmp_path / "home", confirm_above_credits=confirm, max_credits_per_day=1.0
    )
    reference = tmp_path / "reference.png"
    Image.new("RGB", (256, 256), (20, 40, 200)).save(reference)
    user = User("accept")
    server = build_server(settings, poller=FAST_POLLER)
    async with Client(server, elicitation_callback=user) as client:
        for tool, args in (
            ("generate_image", {"reference_images": [str(reference)]}),
            ("edit_image", {"image": str(reference)}),
        ):
            result = await client.call_tool(tool, {"prompt": "a blue kite", **args})
            assert result.is_error and "Daily credit budget reached" in text_of(result)
            assert "needs about 2.5" in text_of(result)  # gpt-4o-image's catalog price
    assert user.asked == []
    assert (sandbox.counters.uploads, sandbox.counters.create_requests) == (0, 0)
