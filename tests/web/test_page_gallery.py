"""The results gallery and what it leads to, in a real browser: the full-size view and the
download, "Use as reference" (the saved image goes back as ``image://task/index``), a model's
options reaching the request, an uploaded image edited with a mask; and files dropped anywhere
or pasted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image, ImageChops
from playwright.async_api import Page, Request, expect

from imagegen_mcp.sandbox import SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER
from tests.web.page_support import (
    TIMEOUT,
    drop_file,
    generate,
    open_studio,
    paste_file,
    png_bytes,
    still_box,
    task_views,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=0.3, seed=1)


def posts_to(page: Page, path: str) -> list[dict[str, Any]]:
    """The JSON bodies the page POSTs to ``path``, as it sends them."""
    bodies: list[dict[str, Any]] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith(path):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", note)
    return bodies


async def test_a_result_opens_full_size_downloads_and_goes_back_as_a_reference(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        sent = posts_to(page, "/api/generate")
        await generate(page, "a red kite over the dunes")
        (first,) = await task_views(base)

        result = page.locator("figure.result").first
        await result.get_by_role("button", name="full size").click()
        viewer = page.get_by_role("dialog", name="Full-size image")
        await expect(viewer).to_be_visible()
        shown = viewer.get_by_role("img")
        await expect(shown).to_have_js_property("naturalWidth", 1024)
        href = await viewer.get_by_role("link", name="Download").get_attribute("href")
        assert href == f"/api/images/{first['task_id']}/0?download=1"
        async with httpx2.AsyncClient(base_url=base) as http:
            download = await http.get(href)
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.content == Path(first["images"][0]["path"]).read_bytes()
        await viewer.get_by_role("button", name="Close").click()
        await expect(viewer).to_be_hidden()

        await result.get_by_role("button", name="Use as reference").click()
        await expect(page.locator("#ref-list li.thumb")).to_have_count(1)
        await expect(page.locator("#refs-limit")).to_have_text("1 / 5")
        await generate(page, "the same kite at night")
        assert sent[-1]["reference_images"] == [f"image://{first['task_id']}/0"]
        assert "reference_images" not in sent[0]
        errors.assert_none()


async def test_a_model_option_chosen_on_the_page_reaches_the_saved_image(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2")
        await page.get_by_text("Model options").click()
        output_format = page.get_by_role("combobox", name="output format")
        await expect(output_format.locator("option")).to_have_text(
            ["Default (png)", "png", "jpeg", "webp"]
        )
        await output_format.select_option("webp")
        await generate(page, "a glass teapot")
        (task,) = await task_views(base)
        assert task["model"] == "gpt-image-2"
        assert task["images"][0]["mime_type"] == "image/webp"
        errors.assert_none()


async def test_an_uploaded_image_is_edited_only_where_it_was_painted(
    settings: Settings, tmp_path: Path
) -> None:
    upload = tmp_path / "room.png"
    upload.write_bytes(png_bytes(size=(1024, 1024), color=(120, 90, 200)))
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        sent = posts_to(page, "/api/edit")
        await page.get_by_label("Reference images").set_input_files(upload)
        await page.get_by_role("button", name="Edit room.png").click()
        await page.get_by_role("button", name="Rectangle").click()
        box = await still_box(page, "#editor-stage canvas")
        start = (box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        end = (box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.9)
        await page.mouse.move(*start)
        await page.mouse.down()
        await page.mouse.move(*end, steps=5)
        await page.mouse.up()

        # A model without masks is named before anything is sent.
        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2-beta")
        await expect(page.locator("#mask-note")).to_contain_text("takes no mask")
        await page.get_by_role("combobox", name="Model").select_option("gpt-4o-image")
        await expect(page.locator("#mask-note")).to_be_hidden()

        await page.get_by_role("textbox", name="Prompt").fill("a window here")
        await page.get_by_role("combobox", name="Size").select_option("1024x1024")
        await page.get_by_role("button", name="Apply edit").click()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)

        (body,) = sent
        assert body["image"].startswith("upload:") and body["mask"].startswith("upload:")
        (edited,) = await task_views(base)
        before = Image.open(upload).convert("RGB")
        after = Image.open(Path(edited["images"][0]["path"])).convert("RGB")
        bbox = ImageChops.difference(before, after).getbbox()
        assert bbox is not None
        expected = (512, 512, 768, 1024 * 0.9)
        assert all(abs(got - want) <= 2 for got, want in zip(bbox, expected, strict=True)), bbox
        errors.assert_none()


async def test_an_image_dropped_anywhere_or_pasted_becomes_a_reference(settings: Settings) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        url = page.url
        await drop_file(page, "on-gallery.png", png_bytes(color=(10, 200, 10)), on="#gallery")
        await paste_file(page, "pasted.png", png_bytes(color=(200, 10, 10)))
        thumbs = page.locator("#ref-list li.thumb:not(.uploading)")
        await expect(thumbs).to_have_count(2, timeout=TIMEOUT)
        assert page.url == url  # the browser did not leave the page to show the file
        assert await page.get_by_role("textbox", name="Prompt").input_value() == ""
        await expect(page.get_by_role("button", name="Remove on-gallery.png")).to_be_visible()
        await expect(page.get_by_role("button", name="Remove pasted.png")).to_be_visible()
        assert len(list((settings.home / "uploads").iterdir())) == 2
        errors.assert_none()
