"""Custom sizes on the playground page: a model with free pixel sizes offers "Custom…" in the
Size list, a width and a height checked on the page against the model's rule (a refusal is one
line and sends nothing), sent as "WxH". The server checks again and is the authority: a size the
page let through but the server refuses is shown as the server's one line."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Browser, Page, Request, Route, expect

from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import PageErrors, chromium
from tests.support.settings import FAST_POLLER
from tests.web.page_support import TIMEOUT, assert_no_errors_but_refusals, open_studio


def generate_bodies(page: Page) -> list[dict[str, Any]]:
    """Every POST /api/generate body the page sends from now on."""
    bodies: list[dict[str, Any]] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/generate"):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", note)
    return bodies


async def test_a_custom_size_is_checked_on_the_page_then_sent_as_wxh(settings: Settings) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        sent = generate_bodies(page)
        size = page.get_by_role("combobox", name="Size")
        width = page.get_by_role("spinbutton", name="Width")
        height = page.get_by_role("spinbutton", name="Height")

        # Named sizes only for a model without free sizes.
        await page.get_by_role("combobox", name="Model").select_option("gpt-4o-image")
        await expect(size.locator("option", has_text="Custom…")).to_have_count(0)
        await expect(width).to_be_hidden()

        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2")
        await size.select_option(label="Custom…")
        await expect(width).to_be_visible()
        hint = page.locator("#custom-size-hint")
        await expect(hint).to_contain_text("multiples of 16")
        await expect(hint).to_contain_text("up to 3:1")

        # Checked as typed, and refused on the page in one line: nothing is sent.
        await page.get_by_role("textbox", name="Prompt").fill("a wide harbour")
        await width.fill("1000")
        await height.fill("1000")
        await expect(hint).to_contain_text("both sides a multiple of 16")
        await expect(width).to_have_attribute("aria-invalid", "true")
        await page.get_by_role("button", name="Generate").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "GPT Image 2 takes custom sizes with both sides a multiple of 16; not 1000x1000."
        )
        assert sent == []

        # A size that fits is sent as WxH and made.
        await width.fill("1280")
        await height.fill("720")
        await expect(width).to_have_attribute("aria-invalid", "false")
        await page.get_by_role("button", name="Generate").click()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
        assert [body["size"] for body in sent] == ["1280x720"]
        await expect(page.get_by_role("alert")).to_be_empty()
        errors.assert_none()


async def open_with_loose_rules(browser: Browser, base: str) -> tuple[Page, PageErrors]:
    """The page, told by a rewritten /api/models that gpt-image-2 takes any pixel size: the page
    lets everything through, so only the server's check stands."""

    async def loosen(route: Route) -> None:
        response = await route.fetch()
        catalog = await response.json()
        for model in catalog["models"]:
            if model["id"] == "gpt-image-2":
                model["pixels"].update(min_area=1, max_area=10**10, max_aspect=1000)
        await route.fulfill(response=response, json=catalog)

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors = PageErrors()
    page.on("console", errors.on_console)
    page.on("pageerror", errors.on_page_error)
    await page.route("**/api/models", loosen)
    await page.goto(f"{base}/")
    await page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
    return page, errors


async def test_a_custom_size_the_server_refuses_shows_the_servers_one_line(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_with_loose_rules(browser, base)
        sent = generate_bodies(page)
        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2")
        await page.get_by_role("combobox", name="Size").select_option(label="Custom…")
        await page.get_by_role("spinbutton", name="Width").fill("3840")
        await page.get_by_role("spinbutton", name="Height").fill("16")
        await page.get_by_role("textbox", name="Prompt").fill("a very long strip")
        await page.get_by_role("button", name="Generate").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "gpt-image-2 takes pixel sizes with 655,360-8,294,400 pixels in all and an aspect "
            "ratio within 3:1; not 3840x16.",
            timeout=TIMEOUT,
        )
        assert [body["size"] for body in sent] == ["3840x16"]
        await expect(page.locator("#gallery article.card")).to_have_count(0)
        assert_no_errors_but_refusals(errors, "/api/generate", 400)
