"""Text from a prompt, a file name or an upstream error never runs as markup, in the playground
page or the MCP App view, and the page runs under a policy that would stop it if it ever did:
its own scripts only, no inline script, no eval (real browser, real app, the sandbox)."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Dialog, Page, expect

from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.apps_host import APPS, open_host
from tests.support.browser import chromium
from tests.support.settings import FAST_POLLER, WAIT
from tests.web.api_support import finished, page_client
from tests.web.page_support import drop_file, open_studio, png_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: Markup that sets ``window.__ran`` if anything ever parses it as HTML.
PROMPT = '<img src=x onerror="window.__ran=1"><script>window.__ran=2</script> a fox'
#: The sandbox fails a task whose prompt carries ``[fail:<code>]`` with the code in its error.
FAILING = '[fail:<img src=x onerror="window.__ran=3">] a fox'
FILE_NAME = '<img src=x onerror="window.__ran=4">.png'


def directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";") if d.strip())
    return {d[0]: d[1:] for d in parts}


async def nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert await page.evaluate("window.__ran") is None
    assert dialogs == []


async def test_the_page_has_a_strict_policy_and_shows_task_text_literally(
    settings: Settings,
) -> None:
    async with serve_http(settings, poller=FAST_POLLER) as base, page_client(base) as http:
        for prompt in (PROMPT, FAILING):
            made = await http.post("/api/generate", json={"prompt": prompt})
            assert made.status_code == 201, made.text
            await finished(http, made.json()["task"]["task_id"])

        index = await http.get("/")
        assert index.headers["cross-origin-opener-policy"] == "same-origin"
        policy = directives(index.headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        api = (await http.get("/api/models")).headers["content-security-policy"]
        assert directives(api)["default-src"] == ["'none'"]

        async with chromium() as browser:
            page, errors = await open_studio(browser, base)
            dialogs: list[str] = []

            async def dismiss(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", dismiss)
            history = page.get_by_role("list", name="History")
            await expect(history).to_contain_text('<img src=x onerror="window.__ran=1">')
            await expect(history).to_contain_text("[fail:<img")
            gallery = page.locator("#gallery")
            await expect(gallery).to_contain_text("<script>window.__ran=2</script>")
            await drop_file(page, FILE_NAME, png_bytes())
            chosen = page.get_by_role("list", name="Chosen references")
            remove = chosen.get_by_role("button", name=f"Remove {FILE_NAME}", exact=True)
            await expect(remove).to_be_visible(timeout=WAIT * 1000)
            assert await page.locator("[onerror]").count() == 0  # none in the page's own markup
            await nothing_ran(page, dialogs)
            errors.assert_none()  # the page itself breaks no rule of its policy

            # Were text ever to reach the markup, the policy would still stop it.
            refused = page.expect_console_message(lambda m: "Content Security Policy" in m.text)
            async with refused:
                await page.evaluate(
                    """() => {
                      const s = document.createElement("script");
                      s.textContent = "window.__ran = 5";
                      document.body.append(s);
                      const img = document.createElement("img");
                      img.setAttribute("onerror", "window.__ran = 6");
                      img.src = "/static/missing.png";
                      document.body.append(img);
                    }"""
                )
            await page.locator("img[onerror]").evaluate(
                "img => img.complete || new Promise((done) => img.addEventListener('error', done))"
            )
            await nothing_ran(page, dialogs)


async def test_the_app_view_shows_tool_provided_text_literally(settings: Settings) -> None:
    server = build_server(settings, poller=FAST_POLLER)
    async with Client(server, extensions=[APPS]) as client, chromium() as browser:
        host = await open_host(browser, client)
        dialogs: list[str] = []
        host.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await host.run_tool("generate_image", {"prompt": FAILING, "wait_seconds": 0})
        card = host.view.get_by_role("list", name="Tasks").get_by_role("listitem").first
        await expect(card.get_by_role("status")).to_contain_text(
            '<img src=x onerror="window.__ran=3">', timeout=WAIT * 1000
        )
        await expect(card.get_by_role("heading")).to_have_text(FAILING)
        frame = next(f for f in host.page.frames if f != host.page.main_frame)
        assert await frame.evaluate("window.__ran") is None
        assert await frame.locator("[onerror]").count() == 0
        assert dialogs == []
        host.errors.assert_none()
