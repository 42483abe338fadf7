"""Every catalog model through the MCP tools against the sandbox: one valid combination round
trips and is saved at the pixel size the model yields; an invalid one is refused before any
upload or create, naming what the model takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from imagegen_mcp.catalog import ModelSpec, output_size
from imagegen_mcp.imaging import probe
from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.settings import Settings
from tests.support.catalog import MODELS, invalid_args, model_ids, valid_args
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REFERENCE_SIZE = (640, 480)


def references(spec: ModelSpec, folder: Path) -> list[str]:
    """As many input images as the model needs (edit-only models need one or more)."""
    paths = []
    for index in range(spec.references.min):
        path = folder / f"input-{index}.png"
        Image.new("RGB", REFERENCE_SIZE, (40 * index, 120, 200)).save(path)
        paths.append(str(path))
    return paths


def images_per_task(spec: ModelSpec, args: dict[str, Any]) -> int:
    return args.get("n") or spec.n.default


@pytest.mark.parametrize("spec", MODELS, ids=model_ids)
async def test_every_model_round_trips_and_saves_what_the_sandbox_made(
    client: Client, sandbox: Sandbox, settings: Settings, spec: ModelSpec
) -> None:
    args = valid_args(spec)
    refs = references(spec, settings.home.parent)
    result = await client.call_tool(
        "generate_image", {**args, "reference_images": refs, "preview": "none"}
    )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None and data["status"] == "completed", data
    images = data["images"]
    assert len(images) == images_per_task(spec, args)
    want = output_size(
        spec, args.get("size"), args.get("resolution"), REFERENCE_SIZE if refs else None
    )
    for image in images:
        saved = probe(Path(image["path"]))
        assert (image["width"], image["height"]) == (saved.width, saved.height) == want
        assert image["mime_type"] == saved.mime_type
    assert sandbox.counters.creates == 1


@pytest.mark.parametrize("spec", MODELS, ids=model_ids)
async def test_every_model_refuses_an_invalid_combination_before_anything_is_sent(
    client: Client, sandbox: Sandbox, settings: Settings, spec: ModelSpec
) -> None:
    args, words = invalid_args(spec)
    refs = references(spec, settings.home.parent)
    result = await client.call_tool("generate_image", {**args, "reference_images": refs})
    assert result.is_error
    message = text_of(result)
    for word in words:
        assert word in message, message
    counters = sandbox.counters
    assert (counters.create_requests, counters.uploads) == (0, 0)


@pytest.mark.parametrize(
    ("args", "wire"),
    [
        (
            {"model": "gpt-image-2", "size": "16:9", "resolution": "2K", "quality": "high"},
            {"size": "16:9", "resolution": "2K", "quality": "high", "n": 1},
        ),
        (
            {"model": "gemini-3-pro-image-preview", "resolution": "1K", "size": "4:3"},
            {"quality": "1K", "size": "4:3"},
        ),
        (
            {"model": "doubao-seedream-4.0", "resolution": "1K", "n": 2},
            {"quality": "1K", "n": 2},
        ),
        (
            {"model": "grok-imagine-image-2.0", "resolution": "2K", "quality": "low"},
            {"resolution": "2K", "quality": "low", "n": 1},
        ),
        ({"model": "krea-2-turbo", "resolution": "2K"}, {"quality": "2K"}),
        (
            {"model": "doubao-seedream-5.0-lite", "options": {"web_search": True}},
            {"model_params": {"tools": [{"type": "web_search"}]}, "n": 1},
        ),
        (
            {"model": "qwen-image-3.0", "options": {"seed": 5, "negative_prompt": "fog"}},
            {"seed": 5, "negative_prompt": "fog", "n": 1},
        ),
        (
            {"model": "mj-v8.2", "size": "3:2", "quality": "hd", "options": {"speed": "fast"}},
            {"quality": "hd", "model_params": {"speed": "fast"}},
        ),
    ],
    ids=lambda value: value.get("model", "") if isinstance(value, dict) else "",
)
async def test_the_vocabulary_reaches_each_family_s_own_fields_on_the_wire(
    client: Client, sandbox: Sandbox, args: dict[str, Any], wire: dict[str, Any]
) -> None:
    prompt = "a lighthouse"
    result = await client.call_tool(
        "generate_image", {"prompt": prompt, **args, "preview": "none", "wait_seconds": 0}
    )
    assert not result.is_error, text_of(result)
    [body] = sandbox.create_bodies
    sent_prompt = f"{prompt} --ar 3:2" if args["model"].startswith("mj-") else prompt
    assert body == {"model": args["model"], "prompt": sent_prompt, **wire}


async def test_an_input_image_of_sides_the_model_cannot_take_is_refused_before_upload(
    client: Client, sandbox: Sandbox, settings: Settings
) -> None:
    small = settings.home.parent / "small.png"
    Image.new("RGB", (300, 200), (10, 20, 30)).save(small)
    for tool, args in (
        ("generate_image", {"reference_images": [str(small)]}),
        ("edit_image", {"image": str(small)}),
    ):
        result = await client.call_tool(
            tool, {"prompt": "brighter", "model": "qwen-image-edit", **args}
        )
        assert result.is_error
        assert "sides of 384-3072 px" in text_of(result) and "300x200" in text_of(result)
    assert (sandbox.counters.uploads, sandbox.counters.create_requests) == (0, 0)


async def test_a_midjourney_prompt_too_long_with_its_reference_links_is_refused_before_upload(
    client: Client, sandbox: Sandbox, settings: Settings
) -> None:
    [reference] = references(catalog_spec("qwen-image-edit"), settings.home.parent)
    result = await client.call_tool(
        "generate_image",
        {"model": "mj-v8.1", "prompt": "x" * 1003, "reference_images": [reference]},
    )
    assert result.is_error and "1,024" in text_of(result)
    assert (sandbox.counters.uploads, sandbox.counters.create_requests) == (0, 0)


def catalog_spec(model: str) -> ModelSpec:
    return next(spec for spec in MODELS if spec.id == model)
