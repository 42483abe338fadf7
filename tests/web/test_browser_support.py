"""The browser the web UI's tests drive starts here and reports what a page logs as an error."""

from __future__ import annotations

import pytest

from tests.support.browser import SCREENSHOTS, SCREENSHOTS_ENV, chromium, open_page, screenshot_path


async def test_the_browser_records_console_errors_and_uncaught_exceptions() -> None:
    page_html = "data:text/html,<button>Go</button><script>console.error('bad');null.x</script>"
    async with chromium() as browser:
        page, errors = await open_page(browser, page_html)
        assert await page.get_by_role("button", name="Go").count() == 1
    assert any("bad" in m for m in errors.messages)
    assert any("page error" in m for m in errors.messages)


def test_screenshots_go_to_the_docs_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    elsewhere = screenshot_path("x.png")
    assert elsewhere.parent != SCREENSHOTS
    assert elsewhere.parent.is_dir()
    assert not elsewhere.is_relative_to(SCREENSHOTS.parents[1])  # nothing inside the checkout
    monkeypatch.setenv(SCREENSHOTS_ENV, "1")
    assert screenshot_path("x.png") == SCREENSHOTS / "x.png"
