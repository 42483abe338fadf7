"""Driving the playground page in the browser: open it against the real HTTP app, drop files on
it the way a person does, and record what its live regions said along the way."""

from __future__ import annotations

import base64
import io
import socket
from pathlib import Path
from typing import Any

import anyio
import httpx2
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.support.browser import PageErrors, open_page
from tests.support.settings import WAIT

#: Playwright counts its timeouts in milliseconds.
TIMEOUT = WAIT * 1000

# Records every text the status region and the task cards' stage lines show, as they change:
# a poll from the test could miss a state that lasted a few milliseconds.
RECORDER = """() => {
  window.seen = { counts: [], stages: [] };
  const note = () => {
    const counts = document.querySelector('#counts').textContent;
    if (window.seen.counts.at(-1) !== counts) window.seen.counts.push(counts);
    for (const stage of document.querySelectorAll('#gallery .stage')) {
      const text = stage.textContent;
      if (!window.seen.stages.includes(text)) window.seen.stages.push(text);
    }
  };
  new MutationObserver(note).observe(document.body,
    { subtree: true, childList: true, characterData: true });
  note();
}"""

# A file dropped on the drop zone: the same events, DataTransfer and File objects a real drag
# from the desktop produces.
DROP = """async ([name, type, b64, selector]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    target.dispatchEvent(new DragEvent(kind, init));
  }
}"""

# An image pasted from the clipboard (Ctrl+V) while the prompt has the focus.
PASTE = """async ([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const init = { bubbles: true, cancelable: true, clipboardData: transfer };
  document.querySelector('#prompt').dispatchEvent(new ClipboardEvent('paste', init));
}"""


def png_bytes(
    size: tuple[int, int] = (320, 240), color: tuple[int, int, int] = (40, 160, 90)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


async def open_studio(browser: Browser, base: str) -> tuple[Page, PageErrors]:
    """The page at ``base``, once it has loaded the models and the history."""
    page, errors = await open_page(browser, f"{base}/", width=1280, height=800)
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT * 1000)
    return page, errors


async def generate(
    page: Page, prompt: str, *, size: str | None = None, count: int | None = None
) -> None:
    """Generate from the form (with ``size`` and ``count`` when given) and wait until the new
    card, which leads the gallery, has completed with its images."""
    await page.get_by_role("textbox", name="Prompt").fill(prompt)
    if size is not None:
        await page.get_by_role("combobox", name="Size").select_option(size)
    if count is not None:
        await page.get_by_role("combobox", name="Count").select_option(str(count))
    await page.get_by_role("button", name="Generate").click()
    card = page.locator("#gallery article.card").first
    await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
    await expect(card).to_contain_text(prompt)
    if count is not None:
        await expect(card.locator("figure.result img")).to_have_count(count)


async def drop_file(
    page: Page, name: str, data: bytes, mime: str = "image/png", *, on: str = "#dropzone"
) -> None:
    """Drop a file on the element ``on`` selects (the drop zone unless told)."""
    await page.evaluate(DROP, [name, mime, base64.b64encode(data).decode(), on])


async def paste_file(page: Page, name: str, data: bytes, mime: str = "image/png") -> None:
    await page.evaluate(PASTE, [name, mime, base64.b64encode(data).decode()])


async def record(page: Page) -> None:
    await page.evaluate(RECORDER)


async def seen(page: Page) -> dict[str, list[str]]:
    result: dict[str, list[str]] = await page.evaluate("window.seen")
    return result


async def task_views(base: str) -> list[dict[str, Any]]:
    """GET /api/tasks as the page reads it (newest first)."""
    async with httpx2.AsyncClient(base_url=base, timeout=WAIT) as http:
        answer = await http.get("/api/tasks?limit=20")
        answer.raise_for_status()
        tasks: list[dict[str, Any]] = answer.json()["tasks"]
        return tasks


async def wait_for_files(folder: Path, count: int) -> list[Path]:
    """The files in ``folder`` once there are ``count`` of them."""
    with anyio.fail_after(WAIT):
        while True:
            found = sorted(p for p in folder.glob("*") if p.is_file()) if folder.exists() else []
            if len(found) >= count:
                return found
            await anyio.sleep(0.05)


def assert_no_errors_but_refusals(errors: PageErrors, path: str, status: int) -> None:
    """No console error but the browser's own line for an expected refusal: chromium logs
    every 4xx answer to a fetch ("Failed to load resource"), even one the page handles."""
    expected = f"the server responded with a status of {status}"
    errors.messages = [m for m in errors.messages if not (expected in m and path in m)]
    errors.assert_none()


# The element's box once it has stopped moving (the page scrolls smoothly to the editor): the
# same rectangle over five animation frames in a row.
STILL = """async (el) => {
  let last = "", same = 0;
  while (same < 5) {
    await new Promise(requestAnimationFrame);
    const r = el.getBoundingClientRect();
    const now = [r.x, r.y, r.width, r.height].join();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  const r = el.getBoundingClientRect();
  return { x: r.x, y: r.y, width: r.width, height: r.height };
}"""


async def still_box(page: Page, selector: str) -> dict[str, float]:
    """Where ``selector`` is on screen once any scrolling has finished."""
    with anyio.fail_after(WAIT):
        box: dict[str, float] = await page.locator(selector).evaluate(STILL)
    return box


def assert_no_errors_but_lost_connections(errors: PageErrors) -> None:
    """No console error but chromium's own lines for requests made while the server was down."""
    errors.messages = [m for m in errors.messages if "net::ERR_CONNECTION_REFUSED" not in m]
    errors.assert_none()


def reusable_socket(port: int = 0) -> socket.socket:
    """A loopback socket on ``port`` that a server stopped a moment ago can hand on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock
