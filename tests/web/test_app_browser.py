"""The MCP App view in a real browser, inside a test host built on ext-apps' AppBridge, relaying
every call to the real server (in memory) wired to the sandbox."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator

import pytest
from mcp import Client
from PIL import Image
from playwright.async_api import Browser, FrameLocator, Locator, expect

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.support.apps_host import APPS, open_host
from tests.support.browser import chromium, screenshot_path
from tests.support.settings import FAST_POLLER

#: Long enough that the view sees the task running before it completes.
TASK_SECONDS = 3.0
#: A bound on anything the view waits for (a task, an image), in milliseconds.
TIMEOUT_MS = 20_000


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=TASK_SECONDS, seed=3)


@pytest.fixture
async def apps_client(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings, poller=FAST_POLLER), extensions=[APPS]) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


def task_card(view: FrameLocator, index: int) -> Locator:
    """The ``index``-th task in the view, newest first."""
    return view.get_by_role("list", name="Tasks").get_by_role("listitem").nth(index)


async def assert_images_shown(card: Locator, count: int) -> None:
    images = card.get_by_role("img")
    await expect(images).to_have_count(count, timeout=TIMEOUT_MS)
    for i in range(count):
        width = await images.nth(i).evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 0


async def test_the_view_follows_a_task_to_its_images_and_starts_a_variation(
    apps_client: Client, browser: Browser
) -> None:
    host = await open_host(browser, apps_client)
    prompt = "a lighthouse at dusk, oil painting"
    first = await host.run_tool("generate_image", {"prompt": prompt, "n": 2, "wait_seconds": 0})
    assert first["structuredContent"]["status"] in ("pending", "processing")

    view = host.view
    card = task_card(view, 0)
    await expect(card.get_by_role("progressbar", name="Progress")).to_be_visible()
    await expect(card.get_by_role("status")).to_contain_text("%")
    # The host's theme and style variables (HOST_CONTEXT) are the view's.
    await expect(view.locator("html")).to_have_attribute("data-theme", "light")
    await expect(card.get_by_role("progressbar")).to_have_css("accent-color", "rgb(194, 65, 12)")
    await assert_images_shown(card, 2)
    await expect(card.get_by_role("status")).to_have_text(
        "Completed: 2 images saved.", timeout=TIMEOUT_MS
    )
    await expect(card.get_by_role("progressbar")).to_be_hidden()
    # It kept asking the server (through the host) while the task ran, never paying again.
    polls = host.relay.tool_calls("get_task")
    assert polls and all(p["task_id"] == first["structuredContent"]["task_id"] for p in polls)
    assert len(host.relay.tool_calls("generate_image")) == 1  # the host's own call

    # A double click starts one task: the button waits for the first call's answer.
    await card.get_by_role("figure").nth(1).get_by_role("button", name="Variation").dblclick()
    second = task_card(view, 0)
    await expect(view.get_by_role("list", name="Tasks").get_by_role("listitem")).to_have_count(
        2, timeout=TIMEOUT_MS
    )
    await expect(second).not_to_have_attribute(
        "aria-label", f"Task {first['structuredContent']['task_id']}"
    )
    await assert_images_shown(second, 1)
    _, variation = host.relay.tool_calls("generate_image")
    assert variation["prompt"] == prompt
    first_id = first["structuredContent"]["task_id"]
    assert variation["reference_images"] == [f"image://{first_id}/1"]
    await expect(task_card(view, 1).get_by_role("img")).to_have_count(2)  # the first stays
    shot = screenshot_path("app.png")
    await host.page.screenshot(path=shot)
    with Image.open(shot) as picture:
        assert (picture.format, picture.size) == ("PNG", (600, 800))
    host.errors.assert_none()


async def test_an_edit_painted_in_the_view_sends_the_mask_and_shows_the_edited_task(
    apps_client: Client, browser: Browser
) -> None:
    # A task made earlier, shown by get_task, in a host that forwards tool calls only: the view
    # takes the images from get_task's full previews and the model from list_tasks.
    made = await apps_client.call_tool(
        "generate_image", {"prompt": "a red fox", "wait_seconds": 20}
    )
    assert made.structured_content is not None
    task_id = made.structured_content["task_id"]
    host = await open_host(browser, apps_client, reads_resources=False)
    done = await host.run_tool("get_task", {"task_id": task_id})
    view = host.view
    await assert_images_shown(task_card(view, 0), 1)
    assert not [m for m, _ in host.relay.calls if m == "resources/read"]

    await task_card(view, 0).get_by_role("button", name="Edit").click()
    editor = view.get_by_role("region", name="Edit image")
    await editor.get_by_role("button", name="Rectangle").click()
    canvas = editor.get_by_role("img", name="Mask: paint the area to change")
    box = await canvas.bounding_box()
    assert box is not None
    mouse = host.page.mouse
    await mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    await mouse.down()
    await mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    await mouse.up()
    await editor.get_by_role("textbox", name="Prompt").fill("make the fox blue")
    await editor.get_by_role("button", name="Apply edit").click()

    await expect(view.get_by_role("list", name="Tasks").get_by_role("listitem")).to_have_count(
        2, timeout=TIMEOUT_MS
    )
    await assert_images_shown(task_card(view, 0), 1)
    await expect(editor).to_be_hidden()
    [sent] = host.relay.tool_calls("edit_image")
    assert sent["prompt"] == "make the fox blue"
    assert sent["image"] == f"image://{task_id}/0"
    listing = (await apps_client.call_tool("list_tasks", {})).structured_content or {}
    [model] = [t["model"] for t in listing["tasks"] if t["task_id"] == task_id]
    assert sent["model"] == model
    mask = mask_pixels(sent["mask"])
    shown = done["structuredContent"]["images"][0]
    width, height = shown["width"], shown["height"]
    assert mask.size == (width, height)
    # White (change) inside the dragged quarter, black (keep) elsewhere.
    assert mask.getpixel((int(width * 0.37), int(height * 0.37))) == 255
    assert mask.getpixel((int(width * 0.75), int(height * 0.75))) == 0
    # On disk: the edited image changed inside the painted area only.
    label = await task_card(view, 0).get_attribute("aria-label") or ""
    edited = await apps_client.call_tool(
        "get_task", {"task_id": label.removeprefix("Task "), "wait_seconds": 20}
    )
    assert edited.structured_content is not None
    after = Image.open(edited.structured_content["images"][0]["path"]).convert("RGB")
    before = Image.open(shown["path"]).convert("RGB")
    inside, outside = (
        (int(width * 0.37), int(height * 0.37)),
        (int(width * 0.75), int(height * 0.75)),
    )
    assert after.getpixel(inside) != before.getpixel(inside)
    assert after.getpixel(outside) == before.getpixel(outside)
    host.errors.assert_none()


def mask_pixels(data_uri: str) -> Image.Image:
    head, _, payload = data_uri.partition(",")
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload))).convert("L")


async def test_a_task_that_fails_upstream_is_said_in_one_line_with_no_image(
    apps_client: Client, browser: Browser, sandbox: Sandbox
) -> None:
    sandbox.faults.fail_tasks = 1
    host = await open_host(browser, apps_client)
    await host.run_tool("generate_image", {"prompt": "a red fox", "wait_seconds": 0})
    card = task_card(host.view, 0)
    status = card.get_by_role("status")
    await expect(status).to_have_text(f"Failed: {sandbox.faults.fail_message}", timeout=TIMEOUT_MS)
    await expect(card.get_by_role("progressbar")).to_be_hidden()
    await expect(card.get_by_role("figure")).to_have_count(0)
    host.errors.assert_none()


async def test_a_variation_repeats_a_long_prompt_whole_read_from_the_task_resource(
    apps_client: Client, browser: Browser
) -> None:
    # 500 characters: list_tasks cuts prompts at 200, the task://{id} resource does not.
    prompt = ("a harbour at dawn, fishing boats, gulls, mist over the water, " * 9)[:500]
    assert len(prompt) == 500
    made = await apps_client.call_tool("generate_image", {"prompt": prompt, "wait_seconds": 20})
    assert made.structured_content is not None
    task_id = made.structured_content["task_id"]

    # A host that forwards resource reads: the view opened by get_task (no prompt in its input).
    host = await open_host(browser, apps_client)
    await host.run_tool("get_task", {"task_id": task_id})
    card = task_card(host.view, 0)
    await assert_images_shown(card, 1)
    await card.get_by_role("figure").first.get_by_role("button", name="Variation").click()
    tasks = host.view.get_by_role("list", name="Tasks").get_by_role("listitem")
    await expect(tasks).to_have_count(2, timeout=TIMEOUT_MS)
    (variation,) = host.relay.tool_calls("generate_image")
    assert variation["prompt"] == prompt
    assert variation["reference_images"] == [f"image://{task_id}/0"]
    assert ("resources/read", {"uri": f"task://{task_id}"}) in host.relay.calls
    host.errors.assert_none()

    # A host that forwards tool calls only: list_tasks' prompt may be cut, so the view says so
    # rather than pay for a variation of a different prompt.
    bare = await open_host(browser, apps_client, reads_resources=False)
    await bare.run_tool("get_task", {"task_id": task_id})
    card = task_card(bare.view, 0)
    await assert_images_shown(card, 1)
    await card.get_by_role("figure").first.get_by_role("button", name="Variation").click()
    await expect(bare.view.get_by_role("alert")).to_contain_text(
        f"The full prompt of task {task_id} is not known here", timeout=TIMEOUT_MS
    )
    assert bare.relay.tool_calls("generate_image") == []
    bare.errors.assert_none()
