"""The browser the web UI's tests drive starts here and reports what a page logs as an error."""

from __future__ import annotations

from tests.support.browser import chromium, open_page


async def test_the_browser_records_console_errors_and_uncaught_exceptions() -> None:
    page_html = "data:text/html,<button>Go</button><script>console.error('bad');null.x</script>"
    async with chromium() as browser:
        page, errors = await open_page(browser, page_html)
        assert await page.get_by_role("button", name="Go").count() == 1
    assert any("bad" in m for m in errors.messages)
    assert any("page error" in m for m in errors.messages)
