"""The mask painter (``web/static/painter.js``) in a real browser, on its own: what is painted on
a scaled-down view becomes a black-and-white PNG mask at the image's natural size."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from playwright.async_api import Page, Route

from tests.support.browser import chromium, open_page

STATIC = Path(__file__).resolve().parents[2] / "src" / "imagegen_mcp" / "web" / "static"
ORIGIN = "http://painter.test"

# The image is 400x200, shown at half size: screen pixels map to two image pixels.
HARNESS = """<!doctype html><html><body style="margin:0">
<div id="box" style="margin:20px;display:inline-block"><img id="img" src="/base.png"
 style="display:block;width:200px;height:100px"></div>
<script type="module">
import { createPainter, painterToolbar } from "/static/painter.js";
const img = document.getElementById("img");
await img.decode();
window.painter = createPainter(document.getElementById("box"), img, { brush: 10 });
const bar = painterToolbar(window.painter);
document.body.appendChild(bar.element);
window.maskPng = async () => {
  const blob = await window.painter.toMaskBlob();
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return [blob.type, btoa(text)];
};
window.ready = true;
</script></body></html>"""


def base_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 200), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/":
        await route.fulfill(body=HARNESS, content_type="text/html")
    elif path == "/base.png":
        await route.fulfill(body=base_png(), content_type="image/png")
    elif path.startswith("/static/"):
        body = (STATIC / path.removeprefix("/static/")).read_bytes()
        await route.fulfill(body=body, content_type="text/javascript")
    else:
        await route.fulfill(status=404, body="")


async def mask_of(page: Page) -> Image.Image:
    mime, data = await page.evaluate("window.maskPng()")
    assert mime == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def at(mask: Image.Image, x: int, y: int) -> int:
    """The mask's grey level at (x, y): 255 = change, 0 = keep."""
    value = mask.convert("L").getpixel((x, y))
    assert isinstance(value, int)
    return value


async def drag(page: Page, start: tuple[int, int], end: tuple[int, int]) -> None:
    await page.mouse.move(*start)
    await page.mouse.down()
    await page.mouse.move((start[0] + end[0]) // 2, (start[1] + end[1]) // 2, steps=3)
    await page.mouse.move(*end, steps=3)
    await page.mouse.up()


async def test_a_rectangle_drawn_on_a_scaled_view_is_a_binary_mask_at_natural_size() -> None:
    async with chromium() as browser:
        page, errors = await open_page(browser, "about:blank")
        await page.context.route(f"{ORIGIN}/**", serve)
        await page.goto(f"{ORIGIN}/")
        await page.wait_for_function("window.ready === true")
        assert await page.evaluate("window.painter.isEmpty()") is True

        await page.get_by_role("button", name="Rectangle").click()
        # The view starts at screen (20, 20): screen (40, 40)-(80, 60) is image (40, 40)-(120, 80).
        await drag(page, (40, 40), (80, 60))
        mask = await mask_of(page)
        assert mask.size == (400, 200)
        assert mask.mode == "L"  # no alpha channel: it can only be read as black and white
        gray = mask.convert("RGBA")
        assert gray.getchannel("A").getextrema() == (255, 255)
        levels = gray.convert("L").histogram()
        assert levels[0] and levels[255] and not any(levels[1:255])
        assert at(gray, 42, 42) == 255
        assert at(gray, 118, 78) == 255
        assert at(gray, 37, 50) == 0
        assert at(gray, 123, 50) == 0
        assert at(gray, 80, 83) == 0
        assert at(gray, 300, 150) == 0

        await page.get_by_role("button", name="Invert").click()
        inverted = (await mask_of(page)).convert("L")
        assert at(inverted, 80, 60) == 0
        assert at(inverted, 300, 150) == 255

        await page.get_by_role("button", name="Undo").click()
        await page.get_by_role("button", name="Clear").click()
        assert await page.evaluate("window.painter.isEmpty()") is True
        await page.get_by_role("button", name="Undo").click()  # undoes the clear
        assert at(await mask_of(page), 80, 60) == 255
        errors.assert_none()


async def test_a_brush_stroke_paints_its_width_in_image_pixels_and_undo_removes_it() -> None:
    async with chromium() as browser:
        page, errors = await open_page(browser, "about:blank")
        await page.context.route(f"{ORIGIN}/**", serve)
        await page.goto(f"{ORIGIN}/")
        await page.wait_for_function("window.ready === true")

        await page.get_by_role("button", name="Brush").click()
        # A 10-screen-pixel brush along y=70 (image y=100): 20 image pixels wide.
        await drag(page, (60, 70), (180, 70))
        mask = (await mask_of(page)).convert("L")
        assert at(mask, 200, 100) == 255
        assert at(mask, 200, 92) == 255
        assert at(mask, 200, 80) == 0
        assert at(mask, 200, 120) == 0
        assert await page.evaluate("window.painter.isEmpty()") is False

        await page.get_by_role("button", name="Undo").click()
        assert await page.evaluate("window.painter.isEmpty()") is True
        assert (await mask_of(page)).convert("L").getextrema() == (0, 0)
        await page.evaluate("window.painter.destroy()")
        assert await page.locator("canvas").count() == 0
        errors.assert_none()
