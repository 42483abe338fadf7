"""A running task's card in a real browser at 1280x800: its stage ("pending upstream (0%)") on
one line above its progress bar, as wide as it, beside a prompt long enough to wrap."""

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
    return SandboxConfig(task_duration=60, seed=2)  # still running when the test has looked


async def test_a_running_task_s_stage_is_one_line_beside_a_long_prompt(settings: Settings) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        prompt = "a cosy reading nook by a rainy window, in the style of the sketch, warm lamp"
        await page.get_by_role("textbox", name="Prompt").fill(prompt)
        await page.get_by_role("button", name="Generate").click()
        stage = page.locator("#gallery article.card .stage").first
        await expect(stage).to_contain_text("upstream", timeout=TIMEOUT)
        lines = await stage.evaluate(
            "(el) => el.offsetHeight / parseFloat(getComputedStyle(el).lineHeight)"
        )
        assert lines < 1.5, f"the stage wraps onto {lines:.1f} lines"
        bar = await page.locator("#gallery article.card progress").first.bounding_box()
        words = await stage.bounding_box()
        assert bar is not None and words is not None
        assert abs(bar["width"] - words["width"]) <= 2, (bar, words)  # the bar spans its stage
        errors.assert_none()
