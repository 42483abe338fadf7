"""Edits: references fetched at completion, masks changing only their transparent region, and
every way a reference or mask makes the task fail."""

from __future__ import annotations

import io
import socket
from typing import Any

import httpx2
import pytest
from PIL import Image, ImageChops

from imagegen_mcp.catalog import catalog, output_size
from imagegen_mcp.catalog.vocabulary import parse_pixels
from imagegen_mcp.sandbox import Sandbox
from tests.sandbox.conftest import (
    StartSandbox,
    client_for,
    create,
    finish,
    open_png,
    png_bytes,
    upload,
)
from tests.sandbox.test_sandbox_models import smallest_pixels

BOX = (100, 200, 400, 500)  # the region the mask opens for editing


def noisy_reference(size: tuple[int, int] = (1024, 1024)) -> Image.Image:
    bands = [Image.effect_noise(size, 60 + 10 * i) for i in range(3)]
    return Image.merge("RGB", bands)


def mask_for(size: tuple[int, int], box: tuple[int, int, int, int] = BOX) -> Image.Image:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), box)
    return mask


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


MASK_MODELS = sorted(model for model, spec in catalog().models.items() if spec.mask is not None)


@pytest.mark.parametrize("model", MASK_MODELS)
async def test_mask_edit_changes_only_the_transparent_region(
    sb: Sandbox, client: httpx2.AsyncClient, model: str
) -> None:
    # The smallest square the model takes, so the output is the reference's size.
    size = smallest_pixels(catalog().models[model]) or "1024x1024"
    pixels = parse_pixels(size)
    assert pixels is not None
    reference = noisy_reference(pixels)
    ref_url = await upload(client, png_bytes(reference), "ref.png")
    mask_url = await upload(client, png_bytes(mask_for(reference.size)), "mask.png")
    created = await create(
        client,
        model=model,
        prompt="add a hat",
        size=size,
        n=2,
        image_urls=[ref_url],
        mask_url=mask_url,
    )
    detail = await finish(sb, client, created["id"])
    assert detail["status"] == "completed", detail
    outputs = [open_png((await client.get(url)).content) for url in detail["results"]]
    for output in outputs:
        assert output.size == reference.size
        red, green, blue = ImageChops.difference(output.convert("RGB"), reference).split()
        changed = ImageChops.lighter(ImageChops.lighter(red, green), blue)
        assert changed.crop(BOX).histogram()[0] == 0  # every pixel inside differs
        changed.paste(0, BOX)
        assert changed.getbbox() is None  # every pixel outside is identical
    assert outputs[0].tobytes() != outputs[1].tobytes()


async def test_reference_edit_without_mask_resizes_to_the_output_size(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    urls = [
        await upload(client, png_bytes(noisy_reference((300, 200))), f"r{i}.png") for i in range(3)
    ]
    urls.append(await upload(client, jpeg(noisy_reference((64, 64))), "r3.jpg"))
    detail = await finish(sb, client, (await create(client, size="2:3", image_urls=urls))["id"])
    assert detail["status"] == "completed", detail
    image = open_png((await client.get(detail["results"][0])).content)
    assert image.size == output_size(catalog().models["gpt-4o-image"], "2:3", None) == (1024, 1536)


async def test_references_are_fetched_over_loopback_http_from_elsewhere(
    sb: Sandbox, client: httpx2.AsyncClient, start_sandbox: StartSandbox
) -> None:
    host = await start_sandbox()
    async with client_for(host) as host_client:
        ref_url = await upload(host_client, png_bytes(noisy_reference((128, 128))), "ref.png")
    detail = await finish(sb, client, (await create(client, image_urls=[ref_url]))["id"])
    assert detail["status"] == "completed", detail
    assert host.counters.file_gets == 1


async def failure_of(sb: Sandbox, client: httpx2.AsyncClient, **overrides: Any) -> dict[str, Any]:
    created = await create(client, **overrides)
    assert sb.tasks[created["id"]].status == "pending"
    detail = await finish(sb, client, created["id"])
    assert detail["status"] == "failed", detail
    error: dict[str, Any] = detail["error"]
    assert error["type"] == "task_error"
    assert error["message"]
    return error


async def test_a_reference_that_cannot_be_fetched_fails_the_task(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    unreachable = [
        f"{sb.base_url}/files/uploads/missing.png",
        f"http://127.0.0.1:{closed_port()}/ref.png",
        f"{sb.base_url}/results/task-unified-1-aaaaaaaa/x/0.png",
        "https://example.com/ref.png",  # the sandbox has no network
    ]
    for url in unreachable:
        error = await failure_of(sb, client, image_urls=[url])
        assert error["code"] == "image_processing_error", url


async def test_bad_masks_fail_with_the_documented_codes(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    reference = noisy_reference((256, 256))
    ref_url = await upload(client, png_bytes(reference), "ref.png")
    cases = {
        "image_dimension_mismatch": [
            await upload(client, png_bytes(mask_for((128, 128), (0, 0, 10, 10))), "small.png"),
            await upload(client, jpeg(Image.new("RGB", (256, 256))), "mask.jpg"),
        ],
        "invalid_parameters": [
            await upload(client, png_bytes(Image.new("RGB", (256, 256))), "opaque.png"),
        ],
    }
    for code, mask_urls in cases.items():
        for mask_url in mask_urls:
            error = await failure_of(sb, client, image_urls=[ref_url], mask_url=mask_url)
            assert error["code"] == code, mask_url
    good_mask = await upload(client, png_bytes(mask_for((256, 256), (0, 0, 10, 10))), "m.png")
    jpeg_ref = await upload(client, jpeg(reference), "ref.jpg")
    error = await failure_of(sb, client, image_urls=[jpeg_ref], mask_url=good_mask)
    assert error["code"] == "invalid_parameters"
    assert sb.remaining_credits == sb.config.credits  # failures are refunded


async def test_a_reference_in_a_format_the_model_does_not_take_fails_the_task(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(out, format="GIF")
    gif_url = await upload(client, out.getvalue(), "ref.gif")
    error = await failure_of(sb, client, model="gpt-image-2", n=1, image_urls=[gif_url])
    assert error["code"] == "image_processing_error"
    assert "jpeg, png, webp" in error["message"]
    taken = await create(client, model="mj-v7", prompt=f"{gif_url} a fox", size=None, n=None)
    detail = await finish(sb, client, taken["id"])
    assert detail["status"] == "completed", detail  # Midjourney takes GIFs
