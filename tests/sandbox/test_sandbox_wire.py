"""The wire mapping, case by case: where each model takes its tier, nested ``model_params``,
Midjourney's prompt URLs and ``--ar``, options and their requirements, and what is recorded."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from PIL import Image

from imagegen_mcp.catalog import catalog, output_size
from imagegen_mcp.sandbox import Sandbox
from tests.sandbox.conftest import finish, png_bytes, upload
from tests.sandbox.test_sandbox_models import decoded, results_of

GENERATIONS = "/v1/images/generations"
PROMPT = "a lighthouse at dusk"


async def refused(client: httpx2.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(GENERATIONS, json={"prompt": PROMPT, **body})
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


async def accepted(sb: Sandbox, client: httpx2.AsyncClient, body: dict[str, Any]) -> str:
    response = await client.post(GENERATIONS, json={"prompt": PROMPT, **body})
    assert response.status_code == 200, response.text
    task_id: str = response.json()["id"]
    return task_id


async def test_nano_banana_takes_its_tier_under_quality(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    model = "gemini-3.1-flash-image-preview"
    body = {"model": model, "prompt": PROMPT, "size": "16:9", "quality": "0.5K"}
    [response] = await results_of(sb, client, body)
    expected = output_size(catalog().models[model], "16:9", "0.5K")
    assert decoded(response).size == expected
    assert next(iter(sb.tasks.values())).params.tier == "0.5K"
    error = await refused(client, {"model": model, "resolution": "1K"})
    assert error["param"] == "resolution"
    assert "quality" in error["message"]


async def test_gpt_image_2_takes_its_tier_under_resolution_and_quality_apart(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    body = {"model": "gpt-image-2", "prompt": PROMPT, "size": "16:9", "resolution": "1K"}
    [response] = await results_of(sb, client, {**body, "quality": "low", "n": 1})
    assert decoded(response).size == (1360, 768)  # the documented table, not a computed size
    params = next(iter(sb.tasks.values())).params
    assert (params.tier, params.quality) == ("1K", "low")
    error = await refused(client, {**body, "quality": "1K"})
    assert error["param"] == "quality"
    assert "low, medium, high" in error["message"]
    error = await refused(client, {**body, "resolution": "3K"})
    assert error["param"] == "resolution"
    assert "1K, 2K, 4K" in error["message"]


async def test_portrait_ratios_swap_the_table_and_pixels_are_checked(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    base = {"model": "gpt-image-2", "n": 1}
    [portrait] = await results_of(sb, client, {**base, "prompt": PROMPT, "size": "9:16"})
    assert decoded(portrait).size == (768, 1360)
    for size, words in (
        ("1000x1000", "multiples of 16"),
        ("4000x1008", "16-3840"),
        ("512x512", "area"),
        ("3840x1024", "aspect"),
        ("7:5", "1:1, 1:2"),
    ):
        error = await refused(client, {**base, "size": size})
        assert error["param"] == "size"
        assert words in error["message"], (size, error["message"])


async def test_model_params_nest_and_are_checked_by_type(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    model = "gemini-3.1-flash-image-preview"
    good = {"thinking_level": "high", "web_search": True, "image_search": False}
    await accepted(sb, client, {"model": model, "model_params": good})
    error = await refused(client, {"model": model, "model_params": {"thinking_level": "max"}})
    assert error["param"] == "model_params.thinking_level"
    assert "auto, min, high" in error["message"]
    error = await refused(client, {"model": model, "model_params": {"web_search": "yes"}})
    assert error["param"] == "model_params.web_search"
    error = await refused(client, {"model": model, "thinking_level": "high"})
    assert error["param"] == "thinking_level"
    error = await refused(client, {"model": model, "model_params": "high"})
    assert error["param"] == "model_params"


async def test_seedream_web_search_is_a_tools_list_and_its_format_is_nested(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    model = "doubao-seedream-5.0-lite"
    params = {"tools": [{"type": "web_search"}], "output_format": "png"}
    body = {"model": model, "prompt": PROMPT, "size": "1920x1920", "n": 1, "model_params": params}
    [response] = await results_of(sb, client, body)
    assert response.headers["content-type"] == "image/png"
    assert response.url.path.endswith(".png")
    error = await refused(client, {"model": model, "model_params": {"tools": True}})
    assert error["param"] == "model_params.tools"
    error = await refused(client, {"model": model, "output_format": "png"})
    assert error["param"] == "output_format"


@pytest.mark.parametrize(
    ("fmt", "pil", "suffix"), [("jpeg", "JPEG", ".jpg"), ("webp", "WEBP", ".webp")]
)
async def test_output_format_sets_encoding_content_type_and_suffix(
    sb: Sandbox, client: httpx2.AsyncClient, fmt: str, pil: str, suffix: str
) -> None:
    body = {"model": "gpt-image-2", "prompt": PROMPT, "size": "816x816", "output_format": fmt}
    [response] = await results_of(sb, client, body)
    assert response.headers["content-type"] == f"image/{fmt}"
    assert response.url.path.endswith(suffix)
    assert decoded(response).format == pil


async def test_transparent_background_gives_alpha_and_needs_an_alpha_format(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    body = {"model": "gpt-image-2", "size": "816x816", "background": "transparent"}
    error = await refused(client, {**body, "output_format": "jpeg"})
    assert error["param"] == "background"
    assert "png, webp" in error["message"]
    [response] = await results_of(sb, client, {**body, "prompt": PROMPT})
    image = decoded(response)
    assert (image.format, image.mode) == ("PNG", "RGBA")
    low, high = image.getchannel("A").getextrema()
    assert (low, high) == (0, 255)
    seedream = {"model": "doubao-seedream-5.0-pro", "background": "transparent"}
    error = await refused(client, seedream)
    assert error["param"] == "background"
    assert "reference" in error["message"]


async def test_midjourney_takes_references_and_ratio_in_the_prompt(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    spec = catalog().models["mj-v7"]
    refs = [
        await upload(client, png_bytes(Image.new("RGB", (300, 200), colour)), f"{colour}.png")
        for colour in ("red", "blue")
    ]
    prompt = f"{refs[0]} {refs[1]} a castle --ar 16:9 --s 500"
    responses = await results_of(sb, client, {"model": "mj-v7", "prompt": prompt})
    assert len(responses) == 4
    assert {decoded(r).size for r in responses} == {output_size(spec, "16:9", None)}
    params = next(iter(sb.tasks.values())).params
    assert (params.image_urls, params.size) == (tuple(refs), "16:9")
    for body, param in (
        ({"prompt": "a castle --ar 7:5"}, "prompt"),
        ({"prompt": f"{refs[0]}"}, "prompt"),
        ({"prompt": " ".join([refs[0]] * 6) + " a castle"}, "prompt"),
        ({"image_urls": refs}, "image_urls"),
        ({"size": "16:9"}, "size"),
        ({"n": 4}, "n"),
    ):
        error = await refused(client, {"model": "mj-v7", **body})
        assert error["param"] == param, body


async def test_midjourney_draft_makes_24_sketches_and_reserves_for_them(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    body = {"model": "mj-v8.1", "prompt": PROMPT, "model_params": {"speed": "draft"}}
    task_id = await accepted(sb, client, body)
    assert sb.tasks[task_id].credits_reserved == 24 * sb.config.credits_per_image
    detail = await finish(sb, client, task_id)
    assert len(detail["results"]) == 24
    error = await refused(client, {"model": "mj-v8.1", "model_params": {"speed": "turbo"}})
    assert "draft, fast" in error["message"]


async def test_prompt_limits_in_characters_bytes_and_words(client: httpx2.AsyncClient) -> None:
    cases: list[tuple[str, str, str]] = [
        ("gpt-image-2", "x" * 32001, "32000 characters"),
        ("gpt-image-2", "é" * 30001, "60000 UTF-8 bytes"),
        ("krea-2-turbo", "word " * 641, "640 tokens"),
        ("mj-v8.1", "y" * 1025, "1024 characters"),
    ]
    for model, prompt, words in cases:
        error = await refused(client, {"model": model, "prompt": prompt})
        assert (error["param"], words in error["message"]) == ("prompt", True), model
    # One long word may still be under the token limit: only a certain excess is refused.
    ok = await client.post(GENERATIONS, json={"model": "krea-2-turbo", "prompt": "w" * 5000})
    assert ok.status_code == 200


async def test_counts_references_and_sizes_that_depend_on_each_other(
    client: httpx2.AsyncClient,
) -> None:
    urls = [f"http://127.0.0.1:1/{i}.png" for i in range(14)]
    error = await refused(client, {"model": "doubao-seedream-4.0", "image_urls": urls, "n": 2})
    assert (error["param"], "15" in error["message"]) == ("n", True)
    edit_plus = {"model": "qwen-image-edit-plus", "image_urls": urls[:1], "size": "512x512"}
    error = await refused(client, {**edit_plus, "n": 2})
    assert error["param"] == "size"
    error = await refused(client, {"model": "qwen-image-edit"})
    assert error["param"] == "image_urls"
    error = await refused(client, {"model": "qwen-image-edit", "image_urls": urls[:4]})
    assert error["param"] == "image_urls"
    error = await refused(client, {"model": "z-image-turbo", "seed": 0})
    assert (error["param"], "1-2147483647" in error["message"]) == ("seed", True)
    error = await refused(client, {"model": "qwen-image-3.0", "negative_prompt": "n" * 501})
    assert error["param"] == "negative_prompt"
    error = await refused(client, {"model": "gpt-4o-image", "quality": "high"})
    assert error["param"] == "quality"
    assert "callback_url, image_urls, mask_url, model, n, prompt, size" in error["message"]


async def test_seedream_n_is_honoured_though_it_is_only_a_ceiling(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    body = {"model": "doubao-seedream-4.0", "prompt": PROMPT, "size": "960x960", "n": 3}
    assert len(await results_of(sb, client, body)) == 3


async def test_every_create_body_is_recorded_refused_ones_too(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    good = {"model": "z-image-turbo", "prompt": PROMPT, "size": "1:1"}
    bad = {"model": "z-image-turbo", "prompt": PROMPT, "size": "5:7"}
    task_id = await accepted(sb, client, good)
    await refused(client, bad)
    await client.post(GENERATIONS, content=b"not json")
    assert sb.create_bodies == [good, bad]
    assert sb.tasks[task_id].body == good


async def test_midjourney_drafts_refuse_hd(client: httpx2.AsyncClient) -> None:
    body = {"model": "mj-v8.1", "quality": "hd", "model_params": {"speed": "draft"}}
    error = await refused(client, body)
    assert error["param"] == "model_params.speed"
    assert "quality one of: standard" in error["message"]
