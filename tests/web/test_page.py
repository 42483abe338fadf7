"""The playground page in a real browser against the real HTTP app and the sandbox: references
by file picker and by drag-and-drop, a generation followed live, the gallery, and a history that
survives a reload and a server restart (it is the task store). The README's screenshot is taken
here."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from imagegen_mcp.sandbox import SandboxConfig
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium, screenshot_path
from tests.support.settings import FAST_POLLER
from tests.web.page_support import (
    TIMEOUT,
    assert_no_errors_but_lost_connections,
    assert_no_errors_but_refusals,
    drop_file,
    open_studio,
    png_bytes,
    record,
    reusable_socket,
    seen,
    still_box,
    task_views,
    wait_for_files,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    # Tasks long enough (about 1.5 s) for the page to show them running, and their progress.
    return SandboxConfig(task_duration=1.5, seed=1)


async def expect_history(page: Page, count: int, counts: str) -> None:
    await expect(page.get_by_role("list", name="History").get_by_role("listitem")).to_have_count(
        count, timeout=TIMEOUT
    )
    await expect(page.get_by_role("status")).to_contain_text(counts, timeout=TIMEOUT)


async def test_a_generation_with_references_runs_live_and_stays_in_the_history(
    settings: Settings, tmp_path: Path
) -> None:
    uploads = settings.home / "uploads"
    async with chromium() as browser:
        async with serve_http(settings, poller=FAST_POLLER) as base:
            page, errors = await open_studio(browser, base)
            await expect(page.get_by_role("status")).to_have_text("0 running · 0 completed")
            await expect(page.get_by_role("combobox", name="Model")).to_have_value("gpt-4o-image")

            # One reference through the file picker, one dropped on the drop zone.
            picked = tmp_path / "picked.png"
            picked.write_bytes(png_bytes(color=(200, 60, 60)))
            await page.get_by_label("Reference images").set_input_files(picked)
            await drop_file(page, "dropped.png", png_bytes(color=(60, 60, 200)))
            thumbs = page.locator("#ref-list li.thumb:not(.uploading)")
            await expect(thumbs).to_have_count(2, timeout=TIMEOUT)
            assert len(await wait_for_files(uploads, 2)) == 2

            await page.get_by_role("textbox", name="Prompt").fill("a lighthouse at dusk")
            await page.get_by_role("combobox", name="Size").select_option("1024x1024")
            await page.get_by_role("combobox", name="Count").select_option("2")
            await record(page)
            await page.get_by_role("button", name="Generate").click()

            card = page.locator("#gallery article.card").first
            await expect(card.locator("figure.result img")).to_have_count(2, timeout=TIMEOUT)
            await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
            await expect_history(page, 1, "0 running · 1 completed")
            shown = await seen(page)
            # The progress was shown as it went: running, then done.
            assert "1 running · 0 completed" in shown["counts"], shown
            assert shown["counts"][-1] == "0 running · 1 completed", shown
            assert len(shown["stages"]) >= 3, shown
            assert shown["stages"][-1] == "completed", shown
            for image in await card.locator("figure.result img").all():
                assert await image.evaluate("img => img.complete && img.naturalWidth") == 1024

            (task,) = await task_views(base)
            assert task["prompt"] == "a lighthouse at dusk"
            assert task["n"] == 2 and len(task["images"]) == 2

            # A reload shows the same history and images: they come from the task store.
            await page.reload()
            await page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
            await expect_history(page, 1, "0 running · 1 completed")
            await expect(page.locator("#gallery figure.result img")).to_have_count(2)
            errors.assert_none()

        # A new server on the same home: the history is still there.
        async with serve_http(settings, poller=FAST_POLLER) as base:
            page, errors = await open_studio(browser, base)
            await expect_history(page, 1, "0 running · 1 completed")
            history = page.get_by_role("list", name="History")
            await expect(history).to_contain_text("a lighthouse at dusk")
            await expect(page.locator("#gallery figure.result img")).to_have_count(2)
            errors.assert_none()


async def test_refused_files_get_one_message_each_and_nothing_is_uploaded(
    settings: Settings, tmp_path: Path
) -> None:
    text = tmp_path / "notes.png"  # a text file renamed .png
    text.write_text("these are my notes, not an image\n" * 10)
    huge = tmp_path / "huge.png"  # a real PNG signature, 11 MB
    huge.write_bytes(png_bytes()[:16] + bytes(11 * 1024 * 1024))
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        sent: list[str] = []
        page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))

        await page.get_by_label("Reference images").set_input_files([text, huge])
        messages = page.locator("#ref-messages li")
        await expect(messages).to_have_count(2, timeout=TIMEOUT)
        await expect(messages.nth(0)).to_have_text(
            "notes.png is not a PNG, JPEG or WebP image: pick one of those."
        )
        await expect(messages.nth(1)).to_contain_text("huge.png is 11.0 MB: the limit is 10 MB.")
        # A dropped file is checked the same way.
        await drop_file(page, "dropped.webp", b"RIFF0000WAVEfmt not an image")
        await expect(messages).to_have_text(
            ["dropped.webp is not a PNG, JPEG or WebP image: pick one of those."]
        )
        await expect(page.locator("#ref-list li")).to_have_count(0)
        assert not [r for r in sent if "/api/uploads" in r], sent
        assert not (settings.home / "uploads").exists() or not any(
            (settings.home / "uploads").iterdir()
        )
        errors.assert_none()


async def test_the_model_picker_offers_only_what_the_model_accepts(settings: Settings) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        model = page.get_by_role("combobox", name="Model")
        count = page.get_by_role("combobox", name="Count")
        size = page.get_by_role("combobox", name="Size")

        # gpt-4o-image: n in 1, 2, 4; three ratios and three fixed sizes; no resolution or
        # quality.
        await expect(count.locator("option")).to_have_text(["1", "2", "4"])
        await expect(size.locator("option")).to_have_text(
            ["Default", "1:1", "2:3", "3:2", "1024x1024", "1024x1536", "1536x1024"]
        )
        await expect(page.get_by_role("combobox", name="Resolution")).to_have_count(0)
        await expect(page.get_by_role("combobox", name="Quality")).to_have_count(0)
        await expect(page.locator("#refs-limit")).to_have_text("0 / 5")

        # gpt-image-2: resolutions and qualities, 1-10 images, up to 16 references.
        await model.select_option("gpt-image-2")
        resolution = page.get_by_role("combobox", name="Resolution")
        await expect(resolution.locator("option")).to_have_text(["Default", "1K", "2K", "4K"])
        await expect(page.get_by_role("combobox", name="Quality").locator("option")).to_have_text(
            ["Default", "low", "medium", "high"]
        )
        await expect(count.locator("option")).to_have_count(10)
        await expect(size.locator("option", has_text="WxH")).to_have_count(0)
        await expect(page.locator("#refs-limit")).to_have_text("0 / 16")

        # z-image-turbo: one image, no references: no Count, and the drop zone is off.
        await model.select_option("z-image-turbo")
        await expect(count).to_have_count(0)
        await expect(page.get_by_label("Reference images")).to_be_disabled()
        # Generated with it.
        await page.get_by_role("textbox", name="Prompt").fill("a turbo fox")
        await page.get_by_role("button", name="Generate").click()
        card = page.locator("#gallery article.card").first
        await expect(card).to_have_attribute("data-status", "completed", timeout=TIMEOUT)
        (task,) = await task_views(base)
        assert task["model"] == "z-image-turbo"
        errors.assert_none()


async def test_an_error_is_one_line_in_the_alert_region(settings: Settings) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        await page.get_by_role("button", name="Generate").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "Write a prompt first: describe the image you want."
        )
        # One the server gives: a prompt over the model's limit.
        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2-beta")
        await page.get_by_role("textbox", name="Prompt").fill("word " * 3000)
        await page.get_by_role("button", name="Generate").click()
        alert = page.get_by_role("alert")
        await expect(alert).not_to_have_text("Write a prompt first: describe the image you want.")
        await expect(alert).not_to_be_empty()
        line = await alert.text_content() or ""
        assert "\n" not in line and "prompt" in line, line
        assert await task_views(base) == []
        assert_no_errors_but_refusals(errors, "/api/generate", 400)


async def test_the_readme_screenshot_shows_a_running_task_results_references_and_history(
    settings: Settings,
) -> None:
    async with chromium() as browser, serve_http(settings, poller=FAST_POLLER) as base:
        page, errors = await open_studio(browser, base)
        prompt = page.get_by_role("textbox", name="Prompt")
        await prompt.fill("isometric city block, pastel colours, morning fog")
        await page.get_by_role("combobox", name="Count").select_option("4")
        await page.get_by_role("button", name="Generate").click()
        card = page.locator("#gallery article.card").first
        await expect(card.locator("figure.result img")).to_have_count(4, timeout=TIMEOUT)
        # Saved in whatever order, shown in the order of their index.
        figures = card.locator("figure.result")
        order = await figures.evaluate_all("nodes => nodes.map(n => n.dataset.index)")
        assert order == ["0", "1", "2", "3"]
        await drop_file(page, "sketch.png", png_bytes(color=(232, 180, 90)))
        await drop_file(page, "palette.png", png_bytes(color=(90, 120, 220)))
        await expect(page.locator("#ref-list li.thumb:not(.uploading)")).to_have_count(2)

        # A second task, caught while it runs (its progress bar and placeholders show).
        await page.get_by_role("combobox", name="Model").select_option("gpt-image-2")
        await page.get_by_role("combobox", name="Count").select_option("3")
        await prompt.fill("a cosy reading nook by a rainy window, in the style of the sketch")
        await page.get_by_role("button", name="Generate").click()
        await expect(page.locator("#gallery article.card")).to_have_count(2, timeout=TIMEOUT)
        await page.mouse.move(0, 0)
        await page.evaluate("scrollTo(0, 0); document.querySelector('#compose').scrollTop = 0")
        await still_box(page, "#gallery")
        path = screenshot_path("playground.png")
        await page.screenshot(path=path)
        with Image.open(path) as shot:
            assert (shot.format, shot.size) == ("PNG", (1280, 800))

        # Reloaded while the task runs, the page follows it again until its images are in.
        await page.reload()
        await page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT)
        await expect(page.get_by_role("status")).to_have_text(
            "0 running · 2 completed", timeout=TIMEOUT
        )
        await expect(page.locator("#gallery article.card").first.locator("img")).to_have_count(3)
        errors.assert_none()


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(task_duration=4.0, seed=1)])
async def test_an_open_page_follows_its_task_across_a_server_restart(settings: Settings) -> None:
    async with chromium() as browser:
        first = reusable_socket()
        port = first.getsockname()[1]
        async with serve_http(settings, first, poller=FAST_POLLER, stop_within=1) as base:
            page, errors = await open_studio(browser, base)
            await page.get_by_role("textbox", name="Prompt").fill("across a restart")
            await page.get_by_role("button", name="Generate").click()
            await expect(page.get_by_role("status")).to_have_text("1 running · 0 completed")
        # The server is gone: the page says so in one line, and keeps trying.
        await expect(page.get_by_role("alert")).to_have_text(
            "The server cannot be reached: check that imagegen-mcp is still running, then retry.",
            timeout=TIMEOUT,
        )
        async with serve_http(settings, reusable_socket(port), poller=FAST_POLLER, stop_within=1):
            await expect(page.get_by_role("status")).to_have_text(
                "0 running · 1 completed", timeout=TIMEOUT
            )
            await expect(page.locator("#gallery figure.result img")).to_have_count(1)
            await expect(page.get_by_role("alert")).to_be_empty()
        assert_no_errors_but_lost_connections(errors)
