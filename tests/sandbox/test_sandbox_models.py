"""Every catalog model through the sandbox: one valid create completes with the right count of
images of exactly ``output_size``'s pixels in the right format, and bad bodies get 400s that
name what would have been accepted."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from PIL import Image

from imagegen_mcp.catalog import ModelSpec, catalog, output_size
from imagegen_mcp.sandbox import Sandbox
from tests.sandbox.conftest import finish, png_bytes, upload

GENERATIONS = "/v1/images/generations"
MODELS = sorted(catalog().models)
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
REFERENCE = (400, 300)  # an input image's size, for the models that need one


def smallest_pixels(spec: ModelSpec) -> str | None:
    """The smallest square ``WxH`` the model's pixel rule admits (None: it takes no free WxH)."""
    rule = spec.size.pixels if spec.size is not None else None
    if rule is None or rule.only:
        return None
    side = max(rule.min_side, math.isqrt(rule.min_area - 1) + 1)
    side = -(-side // rule.multiple) * rule.multiple
    return f"{side}x{side}" if side <= rule.max_side else None


@dataclass
class Choice:
    """One valid combination: what goes on the wire, and what each image must be."""

    size: str | None
    tier: str | None
    n: int
    pixels: tuple[int, int]
    extra: dict[str, Any] = field(default_factory=dict)


def smallest_choice(spec: ModelSpec) -> Choice:
    """The valid (size, tier) with the fewest pixels per image, so the suite renders little."""
    sizes: list[str | None] = [None]
    if spec.size is not None:
        sizes += (["auto"] if spec.size.auto else []) + list(spec.size.ratios)
        if spec.size.pixels is not None:
            sizes += [*spec.size.pixels.only, smallest_pixels(spec)]
    tiers: list[str | None] = [None, *(spec.resolution.values if spec.resolution else ())]
    reference = REFERENCE if spec.edit_only else None
    options = [
        (output_size(spec, size, tier, reference), size, tier)
        for size in dict.fromkeys(sizes)
        for tier in tiers
    ]
    pixels, size, tier = min(options, key=lambda o: (o[0][0] * o[0][1], str(o[1]), str(o[2])))
    counts = spec.n.allowed()
    single = spec.size is not None and spec.size.single_image_only and size is not None
    n = 2 if 2 in counts and not single else counts[0]
    return Choice(size=size, tier=tier, n=n, pixels=pixels)


def wire_body(spec: ModelSpec, choice: Choice, prompt: str = "a quiet harbour") -> dict[str, Any]:
    """The create body the wire contract prescribes for ``choice``."""
    body: dict[str, Any] = {"model": spec.id, "prompt": prompt}
    if choice.size is not None:
        if spec.size is not None and spec.size.field == "--ar":
            body["prompt"] += f" --ar {choice.size}"
        else:
            body["size"] = choice.size
    if choice.tier is not None and spec.resolution is not None:
        body[spec.resolution.field] = choice.tier
    if spec.n.field is not None:
        body[spec.n.field] = choice.n
    body.update(choice.extra)
    return body


def images_expected(spec: ModelSpec, choice: Choice) -> int:
    return spec.n.fixed if spec.n.fixed is not None else choice.n


async def results_of(
    sb: Sandbox, client: httpx2.AsyncClient, body: dict[str, Any]
) -> list[httpx2.Response]:
    response = await client.post(GENERATIONS, json=body)
    assert response.status_code == 200, response.text
    detail = await finish(sb, client, response.json()["id"])
    assert detail["status"] == "completed", detail
    return [await client.get(url) for url in detail["results"]]


def decoded(response: httpx2.Response) -> Image.Image:
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


@pytest.mark.parametrize("model", MODELS)
async def test_each_model_completes_with_its_count_size_and_format(
    sb: Sandbox, client: httpx2.AsyncClient, model: str
) -> None:
    spec = catalog().models[model]
    choice = smallest_choice(spec)
    if spec.edit_only:
        ref = await upload(client, png_bytes(Image.new("RGB", REFERENCE, "teal")), "ref.png")
        choice.extra["image_urls"] = [ref]
    responses = await results_of(sb, client, wire_body(spec, choice))
    assert len(responses) == images_expected(spec, choice)
    fmt = spec.output_format
    for response in responses:
        assert response.headers["content-type"] == MEDIA_TYPES[fmt]
        image = decoded(response)
        assert image.format == PIL_FORMATS[fmt]
        assert image.size == choice.pixels, (model, choice)
    assert len({r.content for r in responses}) == len(responses)  # each image differs
    task = next(iter(sb.tasks.values()))
    assert task.body == sb.create_bodies[-1]
    assert task.credits_reserved == len(responses) * sb.config.credits_per_image


def invalid_bodies(spec: ModelSpec) -> list[tuple[dict[str, Any], str, list[str]]]:
    """(body, param named, words the message must contain) per rule the model has."""
    base = wire_body(spec, smallest_choice(spec))
    if spec.edit_only:
        base["image_urls"] = ["http://127.0.0.1:1/ref.png"]
    taken = ["model", "prompt"]
    cases: list[tuple[dict[str, Any], str, list[str]]] = [
        ({**base, "style": "vivid"}, "style", taken),
    ]
    if spec.size is not None and spec.size.field == "size":
        cases.append(({**base, "size": "7:5"}, "size", list(spec.size.ratios)))
    elif spec.size is not None:
        bad = {**base, "prompt": base["prompt"] + " --ar 7:5"}
        cases.append((bad, "prompt", list(spec.size.ratios)))
    else:
        cases.append(({**base, "size": "1:1"}, "size", taken))
    if spec.resolution is not None:
        field_name = spec.resolution.field
        cases.append(({**base, field_name: "8K"}, field_name, list(spec.resolution.values)))
    if spec.quality is not None:
        cases.append(({**base, spec.quality.wire: "ultra"}, "quality", list(spec.quality.values)))
    if spec.n.field is not None:
        too_many = spec.n.allowed()[-1] + 1
        cases.append(({**base, spec.n.field: too_many}, spec.n.field, [str(spec.n.allowed()[0])]))
    nested = [o.wire for o in spec.options.values() if o.wire.startswith("model_params.")]
    inner = sorted(wire.split(".", 1)[1] for wire in nested)
    bad_nested = {**base, "model_params": {"colour": "red"}}
    cases.append((bad_nested, "model_params.colour" if inner else "model_params", inner or taken))
    cases += [({**base, "prompt": prompt}, "prompt", ["prompt"]) for prompt in ("", "   ")]
    return cases


@pytest.mark.parametrize("model", MODELS)
async def test_each_model_refuses_bad_bodies_naming_the_allowed_values(
    sb: Sandbox, client: httpx2.AsyncClient, model: str
) -> None:
    spec = catalog().models[model]
    cases = invalid_bodies(spec)
    assert len(cases) >= 2
    for bad, param, words in cases:
        response = await client.post(GENERATIONS, json=bad)
        assert response.status_code == 400, (bad, response.text)
        error = response.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", param), bad
        for word in words:
            assert word in error["message"], (bad, error["message"], word)
    assert sb.counters.creates == 0
    assert sb.create_bodies == [bad for bad, _, _ in cases]
