"""Tool arguments through the in-memory client: unknown names refused before anything is paid,
and bad values told in one short line each, in the server's own words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.settings import Settings
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Per tool: arguments that would run (and for the paid ones, pay), one unknown name added, and
# the valid name closest to it.
UNKNOWN_ARGUMENT_CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "generate_image": (
        {"prompt": "a kite", "request_id": "r-1"},
        "request_id",
        "client_request_id",
    ),
    "edit_image": (
        {"prompt": "a kite", "mask_regions": [{"x": 0, "y": 0, "width": 0.5, "height": 0.5}]},
        "mask_regions",
        "mask_region",
    ),
    "get_task": ({"task_id": "ig-0123456789ab", "wait": 0}, "wait", "wait_seconds"),
    "list_tasks": ({"limt": 5}, "limt", "limit"),
    "list_models": ({"capabilities": "edit"}, "capabilities", "capability"),
    "save_image": (
        {"image": "image://ig-0123456789ab/0", "path": "/nowhere/a.png", "max_size": 512},
        "max_size",
        "max_side",
    ),
}

PROBLEM_MARKERS = ("pydantic", "errors.pydantic.dev", "validation error for", "Error executing")


def problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


async def test_every_tool_declares_that_it_takes_no_other_arguments(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == set(UNKNOWN_ARGUMENT_CASES)  # a new tool needs a case
    for tool in tools:
        assert tool.input_schema.get("additionalProperties") is False, tool.name


@pytest.mark.parametrize("tool", sorted(UNKNOWN_ARGUMENT_CASES))
async def test_an_unknown_argument_is_refused_naming_it_and_the_closest_name_before_paying(
    client: Client, sandbox: Sandbox, settings: Settings, tool: str
) -> None:
    args, unknown, closest = UNKNOWN_ARGUMENT_CASES[tool]
    if tool == "edit_image":
        image = settings.home.parent / "base.png"
        Image.new("RGB", (64, 64), (200, 40, 40)).save(image)
        args = {**args, "image": str(image)}
    result = await client.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error, text
    assert f"- {unknown}: unknown argument; did you mean {closest}?" in text
    assert sandbox.counters.create_requests == 0
    assert sandbox.counters.uploads == 0


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        (
            "generate_image",
            {"prompt": "x", "n": 30},
            ["- n: 30 is not allowed; use a whole number from 1 to 24."],
        ),
        (
            "generate_image",
            {"prompt": "x", "resolution": "8K"},
            ['- resolution: "8K" is not allowed; use "0.5K", "1K", "1.5K", "2K",'],
        ),
        (
            "generate_image",
            {"prompt": "x", "n": 1234567890123456789012345678901},
            [
                "- n: 1234567890123456789012345678901 is not allowed; use a whole number "
                "from 1 to 24."
            ],
        ),
        (
            "edit_image",
            {
                "prompt": "x",
                "image": "/nowhere/base.png",
                "mask_region": [{"x": {}, "shape": 3, "width": 1e-09}, {"shape": None}, {}],
            },
            [
                "- mask_region[0].shape: 3 is not allowed; use 'rectangle' or 'ellipse'.",
                "- mask_region[0].x: {} is not allowed; it should be a valid number.",
                "- mask_region[0].y: required but missing.",
                "- and 6 more.",
            ],
        ),
    ],
    ids=["bad-n", "bad-resolution", "n-of-31-digits", "malformed-mask-regions"],
)
async def test_argument_problems_read_one_short_line_each_in_the_server_s_words(
    client: Client, sandbox: Sandbox, tool: str, args: dict[str, Any], expected: list[str]
) -> None:
    result = await client.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error
    assert text.startswith(f"{tool} did not run (nothing was paid)"), text
    lines = problem_lines(text)
    for line in expected:
        assert any(got.startswith(line) for got in lines), (line, text)
    assert not any(marker in text for marker in PROBLEM_MARKERS), text
    assert len(text) < 2000
    assert sandbox.counters.create_requests == 0


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        ({"n": 3}, "gpt-4o-image takes n 1, 2, 4, not 3."),
        (
            {"size": "999x999"},
            "gpt-4o-image takes size 1:1, 2:3, 3:2, 1024x1024, 1024x1536, 1536x1024, not 999x999.",
        ),
        ({"model": "gpt-image-2", "quality": "hd"}, "gpt-image-2 takes quality low, medium, high"),
        ({"model": "gpt-image-3"}, "Unknown model 'gpt-image-3'. Closest: gpt-image-2"),
    ],
)
async def test_a_value_the_model_does_not_take_is_one_sentence_naming_what_it_takes(
    client: Client, sandbox: Sandbox, args: dict[str, Any], sentence: str
) -> None:
    result = await client.call_tool("generate_image", {"prompt": "x", **args})
    text = text_of(result)
    assert result.is_error and sentence in text and "\n" not in text, text
    assert sandbox.counters.create_requests == 0


async def test_huge_values_and_many_problems_stay_short(client: Client, sandbox: Sandbox) -> None:
    many = {f"unknown_{i}": "v" * 10_000 for i in range(500)}
    args = {"prompt": "p" * 200_000, "reference_images": ["r" * 50_000] * 50, **many}
    result = await client.call_tool("generate_image", args)
    text = text_of(result)
    assert result.is_error
    assert len(text) < 2000, len(text)
    lines = problem_lines(text)
    assert lines[-1].startswith("- and ") and lines[-1].endswith(" more.")
    assert all(len(line) <= 200 for line in lines)
    assert "v" * 100 not in text and "p" * 100 not in text and "r" * 100 not in text
    assert "generate_image takes: prompt, model, size, resolution," in text
    assert sandbox.counters.create_requests == 0


async def test_a_value_that_is_not_unicode_is_echoed_escaped(client: Client) -> None:
    result = await client.call_tool("generate_image", {"prompt": "x", "n": "\ud800"})
    text = text_of(result)
    assert result.is_error
    assert '- n: "\\ud800" is not allowed' in text
    result.model_dump_json()  # a lone surrogate left in would fail here, and on any transport


async def test_a_misspelt_key_inside_a_mask_region_is_refused(
    client: Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    region = {"type": "ellipse", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
    result = await client.call_tool(
        "edit_image", {"prompt": "x", "image": str(tmp_path / "any.png"), "mask_region": [region]}
    )
    assert result.is_error and "type" in text_of(result)
    assert sandbox.counters.uploads == 0 and sandbox.counters.create_requests == 0
