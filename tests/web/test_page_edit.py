"""Edit mode in a real browser: a mask painted on a result with the mouse is sent with the edit,
and on disk the edited image differs from its base only inside the painted area (the sandbox
recolours exactly the masked pixels). Also the question before paying."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.async_api import Page, expect

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER, make_settings
from tests.web.page_support import (
    TIMEOUT,
    assert_no_errors_but_refusals,
    generate,
    open_studio,
    still_box,
    task_views,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=0.3, seed=1)


async def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    await page.mouse.move(*start)
    await page.mouse.down()
    await page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    await page.mouse.move(*end, steps=4)
    await page.mouse.up()


async def test_a_mask_painted_on_a_result_changes_only_the_painted_pixels_on_disk(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await generate(page, "a quiet harbour", size="1024x1024", count=1)
        (original,) = await task_views(base)

        await page.locator("figure.result").first.get_by_role("button", name="Edit this").click()
        canvas = page.locator("#editor-stage canvas")
        await expect(canvas).to_be_visible()
        await expect(page.get_by_role("button", name="Apply edit")).to_be_visible()
        # A rectangle over the upper-left middle, then a brush stroke lower down, undone. (A
        # click on a tool may scroll the page: the canvas is measured after it.)
        await page.get_by_role("button", name="Rectangle").click()
        box = await still_box(page, "#editor-stage canvas")
        scale = 1024 / box["width"]
        left, top = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.25
        right, bottom = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.6
        await drag(page, (left, top), (right, bottom))
        # The rectangle in image pixels.
        expected = (
            (left - box["x"]) * scale,
            (top - box["y"]) * scale,
            (right - box["x"]) * scale,
            (bottom - box["y"]) * scale,
        )
        await page.get_by_role("button", name="Brush").click()
        box = await still_box(page, "#editor-stage canvas")
        low = box["y"] + box["height"] * 0.85
        await drag(page, (box["x"] + 20, low), (box["x"] + box["width"] - 20, low))
        await page.get_by_role("button", name="Undo").click()

        await page.get_by_role("textbox", name="Prompt").fill("paint the sky red")
        await page.get_by_role("button", name="Apply edit").click()
        await expect(page.locator("#editor")).to_be_hidden()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
        await expect(card.locator("figure.result img")).to_have_count(1)
        await expect(page.get_by_role("status")).to_contain_text("0 running · 2 completed")

        edited, _ = await task_views(base)
        assert edited["kind"] == "edit" and edited["prompt"] == "paint the sky red"
        before = Image.open(Path(original["images"][0]["path"])).convert("RGB")
        after = Image.open(Path(edited["images"][0]["path"])).convert("RGB")
        assert before.size == after.size == (1024, 1024)
        changed = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v else 0)
        bbox = changed.getbbox()
        assert bbox is not None, "the edit changed nothing"
        # Exactly the rectangle changed, give or take a pixel of rounding at its edges.
        for got, want in zip(bbox, expected, strict=True):
            assert abs(got - want) <= 2, (bbox, expected)
        # Inside, every pixel changed (the sandbox recolours all of them); the undone stroke left
        # nothing behind.
        inner = changed.crop((bbox[0] + 2, bbox[1] + 2, bbox[2] - 2, bbox[3] - 2))
        assert inner.getextrema() == (255, 255)
        errors.assert_none()


async def test_the_question_before_paying_is_asked_and_answered_in_a_dialog(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", confirm_above_credits=0.5)
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.get_by_role("textbox", name="Prompt").fill("a costly castle")
        await page.get_by_role("button", name="Generate").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_be_visible(timeout=TIMEOUT)
        await expect(dialog).to_contain_text("credits")
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_be_hidden()
        assert await task_views(base) == []

        await page.get_by_role("button", name="Generate").click()
        await dialog.get_by_role("button", name="Proceed").click()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
        assert len(await task_views(base)) == 1
        await expect(page.get_by_role("alert")).to_be_empty()
        assert_no_errors_but_refusals(errors, "/api/generate", 409)


async def test_edit_mode_names_its_button_apply_edit_and_leaving_it_restores_generate(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await generate(page, "a red door", size="1024x1024", count=1)
        generate_button = page.get_by_role("button", name="Generate", exact=True)
        apply_button = page.get_by_role("button", name="Apply edit", exact=True)

        # Edit mode: the one submit button says what it does; no "Generate" is offered.
        await page.locator("figure.result").first.get_by_role("button", name="Edit this").click()
        await expect(apply_button).to_be_visible()
        await expect(generate_button).to_have_count(0)
        assert await page.locator("form button[type=submit]").count() == 1

        # Cancelling the edit brings "Generate" back, and no "Apply edit" is left.
        await page.get_by_role("button", name="Cancel edit").click()
        await expect(generate_button).to_be_visible()
        await expect(apply_button).to_have_count(0)

        # So does an edit sent: the page is back to generating.
        await page.locator("figure.result").first.get_by_role("button", name="Edit this").click()
        await page.get_by_role("textbox", name="Prompt").fill("paint it blue")
        await apply_button.click()
        await expect(generate_button).to_be_visible(timeout=TIMEOUT)
        await expect(apply_button).to_have_count(0)
        errors.assert_none()
