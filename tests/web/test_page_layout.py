"""The page's layout at the README's 1280x800, measured in a real browser: the painter's
toolbar on one row beside a result, no blank band above Generate when there is nothing to say,
and each history entry's model shown whole rather than cut."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from imagegen_mcp.sandbox import SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER, WAIT
from tests.web.page_support import open_studio

TIMEOUT = WAIT * 1000


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
