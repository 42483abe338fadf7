"""The page's layout, measured in a real browser: at the README's 1280x800 the painter's toolbar
on one row beside a result, no blank band above Generate when there is nothing to say, a
keyboard focus ring in the accent colour (not its pale tint), each history entry's model whole;
narrower, a result's buttons inside its card and the painter's heading scrolled into view below
the (two-row) top bar."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from imagegen_mcp.sandbox import SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER
from tests.web.page_support import TIMEOUT, open_studio


def hex_to_rgb(color: str) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=0.3, seed=3)


async def test_at_1280_wide_the_form_is_compact_history_shows_the_model_and_tools_fit_a_row(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        drop = await page.locator("#dropzone").bounding_box()
        button = await page.get_by_role("button", name="Generate").bounding_box()
        assert drop is not None and button is not None
        assert button["y"] - (drop["y"] + drop["height"]) <= 30  # no empty message lists between
        hint_weight = await page.locator("#dropzone .hint").evaluate(
            "(el) => getComputedStyle(el).fontWeight"
        )
        assert int(hint_weight) < 600  # only "Drop images" is bold

        await page.locator("#count").focus()
        await page.keyboard.press("Tab")  # the file input
        await page.keyboard.press("Tab")  # Generate, reached by keyboard: its focus ring shows
        ring = await page.get_by_role("button", name="Generate").evaluate(
            "(el) => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineColor]"
        )
        accent = await page.evaluate(
            "() => getComputedStyle(document.documentElement).getPropertyValue('--accent')"
        )
        assert ring[0] == "solid" and ring[1] == hex_to_rgb(accent.strip()), ring

        await page.get_by_role("textbox", name="Prompt").fill("a paper boat")
        await page.get_by_role("button", name="Generate").click()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
        meta = page.get_by_role("list", name="History").locator(".history-meta").first
        await expect(meta).to_have_text("gpt-4o-image")
        assert await meta.evaluate("(el) => el.scrollWidth <= el.clientWidth")  # not cut short

        await card.get_by_role("button", name="Edit this").first.click()
        tools = page.locator(".painter-toolbar button")
        await expect(tools.first).to_be_visible(timeout=TIMEOUT)
        tops = set(await tools.evaluate_all("(els) => els.map((el) => el.offsetTop)"))
        assert len(tops) == 1, f"the painter's buttons wrap onto {len(tops)} rows"
        errors.assert_none()


async def test_narrower_pages_keep_result_buttons_inside_and_the_painter_heading_in_view(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.get_by_role("textbox", name="Prompt").fill("a paper boat")
        await page.get_by_role("combobox", name="Count").select_option("2")
        await page.get_by_role("button", name="Generate").click()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)

        await page.set_viewport_size({"width": 1000, "height": 800})  # two columns
        spilling = await page.locator(".result-actions button").evaluate_all(
            """(buttons) => buttons.filter((b) => {
              const figure = b.closest('figure').getBoundingClientRect();
              const box = b.getBoundingClientRect();
              return b.scrollWidth > b.clientWidth || box.right > figure.right - 2
                || box.left < figure.left + 2;
            }).map((b) => b.textContent)"""
        )
        assert spilling == [], f"these result buttons spill out of their card: {spilling}"

        await page.set_viewport_size({"width": 600, "height": 900})  # one column, 2-row top bar
        await card.get_by_role("button", name="Edit this").first.click()
        await expect(page.get_by_role("heading", name="Paint the area to change")).to_be_visible()
        # The editor is scrolled to with its scroll margin: taller than the top bar, the heading
        # lands below it rather than under it.
        margin, bar = await page.evaluate(
            """() => [
              parseFloat(getComputedStyle(document.querySelector('#editor')).scrollMarginTop),
              document.querySelector('.topbar').getBoundingClientRect().height,
            ]"""
        )
        assert margin >= bar, f"scroll margin {margin}px under a {bar}px top bar"
        errors.assert_none()
