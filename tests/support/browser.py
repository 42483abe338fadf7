"""A real browser for the web UI's tests: Debian's chromium (``.ci/run`` installs it), driven by
Playwright's async API through ``executable_path`` (Playwright's own browser download is not
reachable here), headless, with every console error and page error recorded. Without a chromium
(``IMAGEGEN_CHROMIUM`` or ``chromium`` on PATH) the browser tests skip, saying how to install
one; with ``IMAGEGEN_REQUIRE_BROWSER=1`` (``.ci/run``) they fail instead.

    async with chromium() as browser:
        page, errors = await open_page(browser, url, width=1280, height=800)
        ...
        errors.assert_none()
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

from tests.support.needs import REQUIRE_BROWSER, missing

#: Where the tests write the README's screenshots when asked to (``IMAGEGEN_SCREENSHOTS=1``).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: The variable that asks for them there; otherwise a run leaves the tree as it found it.
SCREENSHOTS_ENV = "IMAGEGEN_SCREENSHOTS"

# The flags a headless chromium needs on these machines: no GPU, no sandbox as root, and none of
# its background connections (refused by the closed network, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """The chromium to drive, or a skip (a failure under ``IMAGEGEN_REQUIRE_BROWSER=1``)."""
    configured = os.environ.get("IMAGEGEN_CHROMIUM")
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        missing(
            f"IMAGEGEN_CHROMIUM={configured} is not an executable file: point it at a chromium "
            "binary, or unset it to use chromium from PATH.",
            required_by=REQUIRE_BROWSER,
        )
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        missing(
            "no chromium for the browser tests: install it (Debian/Ubuntu: apt-get install "
            "chromium) or set IMAGEGEN_CHROMIUM to a chromium or Chrome binary.",
            required_by=REQUIRE_BROWSER,
        )
    return found


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions seen on a page (and its frames)."""

    messages: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text} at {message.location}")

    def on_page_error(self, error: Error) -> None:
        self.messages.append(f"page error: {error.message}")

    def assert_none(self) -> None:
        assert not self.messages, "\n".join(self.messages)


async def open_page(
    browser: Browser, url: str, *, width: int = 1280, height: int = 800
) -> tuple[Page, PageErrors]:
    """A new page at ``url`` in its own context, recording its errors from the first byte."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    errors = PageErrors()
    page.on("console", errors.on_console)
    page.on("pageerror", errors.on_page_error)
    await page.goto(url)
    return page, errors


def screenshot_folder() -> Path:
    """docs/screenshots/ with ``IMAGEGEN_SCREENSHOTS=1`` (refreshing the README's pictures),
    else a folder under the system's temporary one: the tests take and check their screenshots
    on every run, but only a deliberate run changes the tree."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        return SCREENSHOTS
    return Path(tempfile.gettempdir()) / "imagegen-mcp-screenshots"


def screenshot_path(name: str) -> Path:
    folder = screenshot_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
