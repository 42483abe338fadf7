"""What a first-time user meets on the playground, in a real browser: a note when the images come
from the built-in sandbox (and none against EvoLink, with neither the key nor the upstream's
address told to the page), the default model first in the picker and marked "default", a
two-row edit banner that never wraps beside its button, and on a 600-px-wide window an edit
whose prompt, Apply edit and painter are on screen together."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from playwright.async_api import Page, expect

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER, WAIT, make_settings
from tests.web.page_support import open_studio, still_box

TIMEOUT = WAIT * 1000
SANDBOX_NOTE = "Sandbox: test images (coloured shapes), nothing is paid"
#: A key the sandbox does not take: the server then believes it talks to EvoLink.
REAL_LOOKING_KEY = "sk-evo-not-the-sandbox-0123456789"

# How much of the element is inside the window (0: none, 1: all of it), and its box.
ON_SCREEN = """(el) => {
  const r = el.getBoundingClientRect();
  const top = document.querySelector('.topbar').getBoundingClientRect().bottom;
  const seen = Math.min(r.bottom, innerHeight) - Math.max(r.top, top);
  return { seen: Math.max(0, seen) / r.height, top: r.top, bottom: r.bottom };
}"""


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=0.3, seed=5)


async def models_json(base: str) -> tuple[dict[str, object], str]:
    async with httpx2.AsyncClient(base_url=base, timeout=WAIT) as http:
        answer = await http.get("/api/models")
        answer.raise_for_status()
        return answer.json(), answer.text


async def generate(page: Page, prompt: str) -> None:
    await page.get_by_role("textbox", name="Prompt").fill(prompt)
    await page.get_by_role("button", name="Generate").click()
    card = page.locator("#gallery article.card").first
    await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)


async def test_against_the_sandbox_the_page_says_its_images_are_free_test_shapes(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        listed, _ = await models_json(base)
        assert listed["upstream"] == "sandbox"
        page, errors = await open_studio(browser, base)
        note = page.locator("#sandbox-note")
        await expect(note).to_be_visible()
        await expect(note).to_have_text(SANDBOX_NOTE)
        # Unobtrusive: one slim line under the top bar, not a dialog over the page.
        box = await note.bounding_box()
        assert box is not None and box["height"] <= 40, box
        # The form it pushes down still ends inside the window, Generate whole, when the form
        # is taller than the window (it scrolls inside its panel).
        await page.set_viewport_size({"width": 1280, "height": 600})
        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2")
        form = page.locator("#compose")
        assert await form.evaluate("(el) => el.scrollHeight > el.clientHeight")
        button = await page.get_by_role("button", name="Generate").bounding_box()
        panel = await form.bounding_box()
        assert button is not None and panel is not None
        assert button["y"] + button["height"] <= 600 and panel["y"] + panel["height"] <= 600, panel
        errors.assert_none()


async def test_against_evolink_there_is_no_sandbox_note_and_no_key_or_address_told(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Only the page's own answers are asked for: nothing reaches the upstream with this key.
    settings = make_settings(sandbox, tmp_path / "home", api_key=REAL_LOOKING_KEY)
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        listed, text = await models_json(base)
        assert listed["upstream"] == "evolink"
        assert REAL_LOOKING_KEY not in text and sandbox.base_url not in text
        page, errors = await open_studio(browser, base)
        await expect(page.locator("#sandbox-note")).to_be_hidden()
        assert "Sandbox" not in await page.locator("body").inner_text()
        errors.assert_none()


async def test_the_picker_lists_the_default_model_first_marked_default_and_older_ones_apart(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        picker = page.get_by_role("combobox", name="Model")
        await expect(picker).to_have_value(settings.default_model)
        labels = await picker.locator("option").all_text_contents()
        assert labels[0] == "GPT-4o Image (default)", labels[:3]
        assert [label for label in labels if "(default)" in label] == [labels[0]]
        assert not [label for label in labels if "(older)" in label]  # said by their heading
        older = page.locator("#model optgroup[label='Older models'] option")
        assert "GPT Image 1" in await older.all_text_contents()
        # The catalog calls the default an older model: the line under the picker says so.
        await expect(page.locator("#model-note")).to_contain_text("gpt-4o-image · older model")
        errors.assert_none()


async def test_the_edit_banner_puts_editing_beside_cancel_and_the_target_on_one_line(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        prompt = "a lighthouse on a cliff at dusk, long exposure, waves breaking below, 35 mm"
        await generate(page, prompt)
        await page.locator("figure.result").first.get_by_role("button", name="Edit this").click()
        banner = page.locator("#edit-banner")
        await expect(banner).to_be_visible()
        layout = await banner.evaluate(
            """(el) => {
              const box = (s) => el.querySelector(s).getBoundingClientRect();
              const label = box('strong'), button = box('#cancel-edit');
              const cut = el.querySelector('#edit-target'), target = cut.getBoundingClientRect();
              return {
                labelMiddle: (label.top + label.bottom) / 2,
                buttonMiddle: (button.top + button.bottom) / 2,
                buttonBottom: button.bottom, targetTop: target.top, targetHeight: target.height,
                line: parseFloat(getComputedStyle(cut).lineHeight),
                cut: cut.scrollWidth > cut.clientWidth,
              };
            }"""
        )
        assert abs(layout["labelMiddle"] - layout["buttonMiddle"]) <= 3, layout
        assert layout["targetTop"] >= layout["buttonBottom"] - 8, layout  # a row of its own
        assert layout["targetHeight"] <= layout["line"] * 1.2, layout  # one line
        assert layout["cut"], layout  # a long name is cut short with an ellipsis...
        target = page.locator("#edit-target")
        await expect(target).to_have_attribute("title", await target.inner_text())  # whole on hover
        errors.assert_none()


async def test_at_600_wide_an_edit_keeps_prompt_apply_edit_and_painter_on_screen(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.set_viewport_size({"width": 600, "height": 800})
        await generate(page, "a red kite over a beach")
        await page.locator("figure.result").first.get_by_role("button", name="Edit this").click()
        await expect(page.locator("#editor-stage canvas")).to_be_visible(timeout=TIMEOUT)
        await still_box(page, "#editor-stage canvas")  # the page has scrolled to the painter

        canvas = await page.locator("#editor-stage canvas").evaluate(ON_SCREEN)
        textbox = await page.get_by_role("textbox", name="Prompt").evaluate(ON_SCREEN)
        button = await page.get_by_role("button", name="Apply edit").evaluate(ON_SCREEN)
        assert canvas["seen"] >= 0.9, f"the painter is mostly off screen: {canvas}"
        assert button["seen"] == 1, f"Apply edit is off screen: {button}"
        # Enough of the prompt shows above the button to see and click into it.
        assert textbox["seen"] > 0 and button["top"] - textbox["top"] >= 24, (textbox, button)
        # The painter's tools stay on one row (a second one would push the prompt down).
        tops = await page.locator(".painter-toolbar button").evaluate_all(
            "(els) => els.map((el) => el.offsetTop)"
        )
        assert len(set(tops)) == 1, f"the painter's buttons wrap onto {len(set(tops))} rows"
        errors.assert_none()


async def test_two_results_share_their_cards_row_rather_than_sitting_small_at_its_left(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.get_by_role("combobox", name="Count").select_option("2")
        await generate(page, "two paper boats")
        for width in (1280, 1000):
            await page.set_viewport_size({"width": width, "height": 800})
            card = page.locator("#gallery article.card").first
            row = await card.locator(".images").evaluate(
                """(grid) => {
                  const boxes = [...grid.children].map((f) => f.getBoundingClientRect());
                  const inner = grid.getBoundingClientRect();
                  return { tops: boxes.map((b) => b.top), widths: boxes.map((b) => b.width),
                           used: boxes.at(-1).right - inner.left, room: inner.width };
                }"""
            )
            assert len(set(row["tops"])) == 1, row  # side by side
            assert min(row["widths"]) >= 250, row  # not 3-across thumbnails with a blank third
            assert row["used"] >= row["room"] * 0.85, row
            # Each result's two buttons on one row.
            tops = await card.locator(".result-actions button").evaluate_all(
                "(els) => els.map((el) => Math.round(el.getBoundingClientRect().top))"
            )
            assert len(set(tops)) == 1, (width, tops)
        errors.assert_none()


async def test_at_600_wide_the_sticky_top_bar_is_one_row(settings: Settings) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.set_viewport_size({"width": 600, "height": 900})
        tops = await page.locator(".topbar > *").evaluate_all(
            "(els) => els.map((el) => el.getBoundingClientRect().top)"
        )
        bar = await page.locator(".topbar").bounding_box()
        assert bar is not None and bar["height"] <= 64, bar  # it covers the page as it scrolls
        assert max(tops) - min(tops) <= 12, tops  # the counts beside the name, not under it
        await expect(page.get_by_role("status")).to_be_in_viewport()
        errors.assert_none()
