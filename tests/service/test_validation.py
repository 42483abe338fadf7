"""Every model's rules, checked against the catalog before anything is uploaded or paid; and the
one vocabulary mapped onto each family's own fields."""

from __future__ import annotations

from typing import Any

import pytest

from imagegen_mcp.catalog import ModelSpec, catalog
from imagegen_mcp.errors import InputError
from imagegen_mcp.models import TaskRequest
from imagegen_mcp.service.validation import check_request, model_spec
from imagegen_mcp.service.wire import create_body
from tests.support.catalog import MODELS, invalid_args, model_ids, valid_args

URL = "https://files.example.com/a.png"


def request(**kw: Any) -> TaskRequest:
    kw.setdefault("prompt", "a lighthouse at dusk")
    return TaskRequest.model_validate(kw)


def refused(**kw: Any) -> str:
    with pytest.raises(InputError) as info:
        check_request(request(**kw))
    message = str(info.value)
    assert "\n" not in message
    return message


def body(**kw: Any) -> dict[str, Any]:
    checked = check_request(request(**kw))
    return create_body(model_spec(checked.model), checked, None)


@pytest.mark.parametrize("spec", MODELS, ids=model_ids)
def test_each_model_takes_its_valid_combination(spec: ModelSpec) -> None:
    urls = [URL] * spec.references.min
    checked = check_request(request(**valid_args(spec), image_urls=urls))
    assert checked.n in spec.n.allowed() or checked.n in [
        *spec.n.allowed(),
        *(i for o in spec.options.values() for i in o.images.values()),
    ]


@pytest.mark.parametrize("spec", MODELS, ids=model_ids)
def test_each_model_refuses_an_invalid_combination_naming_what_it_takes(spec: ModelSpec) -> None:
    args, words = invalid_args(spec)
    message = refused(**args, image_urls=[URL] * spec.references.min)
    for word in words:
        assert word in message, message


def test_an_unknown_model_is_refused_with_the_closest_names() -> None:
    message = refused(model="gpt-image-3")
    assert "gpt-image-2" in message and "list_models" in message


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"model": "gpt-image-2", "size": "1000x1000"}, ["multiple of 16"]),
        ({"model": "gpt-image-2", "size": "3840x1024"}, ["aspect ratio within 3:1"]),
        ({"model": "gpt-image-2", "size": "512x512"}, ["655,360-8,294,400 pixels"]),
        ({"model": "gpt-4o-image", "size": "1024x768"}, ["1024x1536", "not 1024x768"]),
        ({"model": "z-image-turbo", "size": "1024x1024"}, ["ratios, not pixel sizes"]),
        (
            {"model": "gpt-image-2-beta", "size": "auto", "resolution": "4K"},
            ["takes resolution 1K"],
        ),
        ({"model": "grok-imagine-image-2.0", "quality": "high"}, ["low, medium", "not high"]),
        ({"model": "nano-banana-beta", "resolution": "2K"}, ["no resolution tiers"]),
        ({"model": "doubao-seedream-4.0", "quality": "high"}, ["no quality setting"]),
        ({"model": "gpt-4o-image", "n": 3}, ["1, 2, 4", "not 3"]),
        ({"model": "doubao-seedream-4.0", "n": 16}, ["1-15", "not 16"]),
        (
            {"model": "qwen-image-edit-plus", "size": "1024x1024", "n": 2, "image_urls": [URL]},
            ["only with n = 1"],
        ),
        ({"model": "mj-v7", "n": 1}, ["makes 4 images"]),
        ({"model": "mj-v7", "size": "16:9", "prompt": "a ship --ar 3:2"}, ["once"]),
        ({"model": "mj-v7", "size": "16:9", "prompt": "a ship --aspect 3:2"}, ["once"]),
        ({"model": "qwen-image-edit"}, ["only edits images", "1-3"]),
        ({"model": "z-image-turbo", "image_urls": [URL]}, ["text-to-image only"]),
        ({"model": "grok-imagine-image-2.0", "image_urls": [URL] * 4}, ["at most 3"]),
        ({"model": "doubao-seedream-4.0", "image_urls": [URL] * 10, "n": 6}, ["n <= 5"]),
        ({"model": "nano-banana-beta", "image_urls": [URL], "mask_url": URL}, ["gpt-image-2"]),
        ({"model": "krea-2-turbo", "options": {"negative_prompt": "x"}}, ["seed, nsfw_check"]),
        ({"model": "grok-imagine-image-2.0", "options": {"seed": 1}}, ["takes no options"]),
        ({"model": "krea-2-turbo", "options": {"seed": 2_000_000}}, ["between 0 and 1048576"]),
        ({"model": "krea-2-turbo", "options": {"nsfw_check": "maybe"}}, ["true or false"]),
        (
            {
                "model": "gpt-image-2",
                "options": {"background": "transparent", "output_format": "jpeg"},
            },
            ["output_format png, webp"],
        ),
        (
            {"model": "doubao-seedream-5.0-pro", "options": {"background": "transparent"}},
            ["references 1", "not 0"],
        ),
        (
            {"model": "mj-v8.1", "quality": "hd", "options": {"speed": "draft"}},
            ["quality standard", "not hd"],
        ),
        ({"model": "krea-2-turbo", "prompt": "word " * 641}, ["641 words", "640 tokens"]),
        ({"model": "mj-v8.1", "prompt": "x" * 1025}, ["1,025 characters", "1,024"]),
        ({"model": "gpt-image-2", "prompt": "é" * 31_000}, ["bytes", "60,000"]),
    ],
)
def test_rules_refuse_with_one_sentence_naming_what_is_taken(
    kw: dict[str, Any], words: list[str]
) -> None:
    message = refused(**kw)
    for word in words:
        assert word in message, message


def test_every_value_the_model_does_not_take_is_named_in_one_refusal() -> None:
    message = refused(model="gpt-4o-image", size="16:9", resolution="2K", quality="high", n=3)
    assert message == (
        "gpt-4o-image takes n 1, 2, 4, not 3. "
        "gpt-4o-image takes size 1:1, 2:3, 3:2, 1024x1024, 1024x1536, 1536x1024, not 16:9. "
        "gpt-4o-image has no resolution tiers: omit resolution. "
        "gpt-4o-image has no quality setting: omit quality."
    )


def test_values_are_normalised_and_typed() -> None:
    checked = check_request(
        request(
            model="qwen-image-3.0",
            size="1024×768",
            options={"seed": "42", "watermark": "false", "negative_prompt": "blur"},
        )
    )
    assert checked.size == "1024x768" and checked.n == 1
    assert checked.options == {"seed": 42, "watermark": False, "negative_prompt": "blur"}


def test_the_image_count_follows_the_model() -> None:
    assert check_request(request(model="mj-v7")).n == 4
    draft = check_request(request(model="mj-v8.2", options={"speed": "draft"}))
    assert draft.n == 24
    assert check_request(request(model="gpt-image-2")).n == 1


def test_midjourney_limits_count_references_before_they_are_uploaded() -> None:
    # 960 characters fit mj-v8.1's 1,024 alone; with room for one upload's link they do not.
    prompt = "x" * 960
    with pytest.raises(InputError, match="1,024"):
        check_request(request(model="mj-v8.1", prompt=prompt), inputs=["/home/me/cat.png"])
    url = "https://example.com/c.png"
    assert check_request(request(model="mj-v8.1", prompt=prompt), inputs=[url]).n == 4


def test_midjourney_limits_count_the_references_and_ratio_sent_in_the_prompt() -> None:
    long_url = "https://files.example.com/" + "a" * 900 + ".png"
    message = refused(model="mj-v8.1", prompt="x" * 100, image_urls=[long_url], size="16:9")
    assert "1,024" in message


# --- the wire -----------------------------------------------------------------------------


def test_the_tier_goes_where_each_family_wants_it() -> None:
    assert body(model="gpt-image-2", size="16:9", resolution="4K", quality="high") == {
        "model": "gpt-image-2",
        "prompt": "a lighthouse at dusk",
        "size": "16:9",
        "resolution": "4K",
        "quality": "high",
        "n": 1,
    }
    nano = body(model="gemini-3-pro-image-preview", size="21:9", resolution="4K")
    assert nano == {
        "model": "gemini-3-pro-image-preview",
        "prompt": "a lighthouse at dusk",
        "size": "21:9",
        "quality": "4K",
    }
    grok = body(model="grok-imagine-image-2.0", resolution="2K", quality="low", n=3)
    assert (grok["resolution"], grok["quality"], grok["n"]) == ("2K", "low", 3)
    assert body(model="krea-2-turbo", resolution="2K")["quality"] == "2K"


def test_options_go_under_their_wire_names() -> None:
    nano = body(
        model="gemini-3.1-flash-image-preview",
        options={"web_search": True, "thinking_level": "high"},
    )
    assert nano["model_params"] == {"web_search": True, "thinking_level": "high"}
    lite = body(
        model="doubao-seedream-5.0-lite", options={"web_search": True, "output_format": "png"}
    )
    assert lite["model_params"] == {"tools": [{"type": "web_search"}], "output_format": "png"}
    off = body(model="doubao-seedream-5.0-lite", options={"web_search": False})
    assert "model_params" not in off
    qwen = body(model="qwen-image-3.0", options={"seed": 7, "prompt_extend": True})
    assert (qwen["seed"], qwen["prompt_extend"]) == (7, True)


def test_midjourney_takes_ratio_and_references_in_the_prompt() -> None:
    sent = body(model="mj-v8.2", prompt="a ship", size="16:9", quality="hd", image_urls=[URL])
    assert sent == {
        "model": "mj-v8.2",
        "prompt": f"{URL} a ship --ar 16:9",
        "quality": "hd",
    }
    speed = body(model="mj-v7", options={"speed": "turbo"})
    assert speed["model_params"] == {"speed": "turbo"} and "n" not in speed


def test_nothing_outside_the_catalog_is_sent() -> None:
    for spec in catalog().models.values():
        args = valid_args(spec)
        sent = body(**args, image_urls=[URL] * spec.references.min)
        known = {"model", "prompt", "size", "image_urls", "mask_url", "model_params"}
        if spec.resolution is not None:
            known.add(spec.resolution.field)
        if spec.quality is not None:
            known.add(spec.quality.wire)
        if spec.n.field:
            known.add(spec.n.field)
        known |= {o.wire.split(".")[0] for o in spec.options.values()}
        assert set(sent) <= known, spec.id
        if spec.size is None or spec.size.field != "size":
            assert "size" not in sent


def test_a_mask_goes_with_its_base_image() -> None:
    sent = body(model="gpt-image-2", image_urls=[URL], mask_url=URL + "?m")
    assert sent["image_urls"] == [URL] and sent["mask_url"] == URL + "?m"
