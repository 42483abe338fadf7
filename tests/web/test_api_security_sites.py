"""Other pages in the same browser: a page of another local server (another port, the other
loopback name) may not post to the playground's routes, and no other site's page may embed,
time or long-poll them; a link the person opens still works. In a real browser and by the
headers browsers send."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx2
import pytest

from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.settings import Settings
from tests.server.conftest import serve_http
from tests.support.browser import chromium
from tests.support.settings import make_settings
from tests.web.api_support import finished, page_client, png, serve_web

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# A page of another server on this machine posting an upload the way a form would (multipart
# needs no preflight, so the request is sent whatever CORS says), and embedding an image.
ATTACKER = """<!doctype html><title>elsewhere</title><script>
const bytes = Uint8Array.from(atob("%(png)s"), (c) => c.charCodeAt(0));
const form = new FormData();
form.append("file", new Blob([bytes], { type: "image/png" }), "x.png");
window.done = fetch("%(target)s/api/uploads", { method: "POST", body: form, mode: "no-cors" })
  .then(() => "sent", () => "failed");
</script>"""


@contextmanager
def another_local_server(html: str) -> Iterator[str]:
    """Another web server on this machine (another port of 127.0.0.1: the same site, so even a
    SameSite=Strict cookie goes with its requests), serving ``html`` at ``/``."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def stored_uploads(home: Path) -> list[Path]:
    folder = home / "uploads"
    return sorted(folder.glob("*.*")) if folder.exists() else []


async def test_a_page_of_another_local_server_cannot_upload_through_the_browser(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    home = tmp_path / "home"
    settings = make_settings(sandbox, home)
    async with serve_web(settings, static) as base, chromium() as browser:
        html = ATTACKER % {"png": base64.b64encode(png()).decode(), "target": base}
        with another_local_server(html) as elsewhere:
            context = await browser.new_context()
            page = await context.new_page()
            async with page.expect_request(f"{base}/api/uploads"):  # the browser sends it
                await page.goto(f"{elsewhere}/")
            await page.evaluate("window.done")
            await context.close()
        assert stored_uploads(home) == []
        # The page's own fetch, from its own origin, is stored.
        async with page_client(base) as http:
            answer = await http.post("/api/uploads", files={"file": ("a.png", png())})
            assert answer.status_code == 201, answer.text
        assert len(stored_uploads(home)) == 1


async def test_only_the_page_s_own_origin_is_accepted_not_another_port_or_name(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    home = tmp_path / "home"
    settings = make_settings(sandbox, home, public_url="https://studio.example")
    async with serve_web(settings, static) as base, httpx2.AsyncClient(base_url=base) as http:
        port = int(base.rsplit(":", 1)[1])
        others = [
            f"http://127.0.0.1:{port + 1}",
            f"http://localhost:{port}",
            f"http://localhost:{port + 1}",
            f"http://[::1]:{port}",
            f"https://127.0.0.1:{port}.evil.example",
            "https://studio.example.evil",
        ]
        for origin in others:
            upload = await http.post(
                "/api/uploads", files={"file": ("a.png", png())}, headers={"Origin": origin}
            )
            assert upload.status_code == 403, origin
            listed = await http.get("/api/tasks", headers={"Origin": origin})
            assert listed.status_code == 403, origin
            # Nor may it answer the question before paying for the person.
            paid = await http.post(
                "/api/generate",
                json={"prompt": "a fox", "n": 4, "confirmed": True},
                headers={"Origin": origin},
            )
            assert paid.status_code == 403, origin
        assert stored_uploads(home) == []
        assert sandbox.counters.create_requests == 0
        # The Host the request names, and the public URL (a proxy that rewrote the Host).
        for origin in (base, "https://studio.example"):
            ok = await http.post(
                "/api/uploads", files={"file": ("a.png", png())}, headers={"Origin": origin}
            )
            assert ok.status_code == 201, (origin, ok.text)
        named = await http.post(
            "/api/uploads",
            files={"file": ("a.png", png())},
            headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"},
        )
        assert named.status_code == 201, named.text


def fetched_by(site: str, mode: str, dest: str) -> dict[str, str]:
    return {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest}


async def test_another_site_s_embeds_and_long_polls_are_refused_but_its_links_open(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    async with serve_web(settings, static) as base, page_client(base) as http:
        made = await http.post("/api/generate", json={"prompt": "a fox"})
        task = await finished(http, made.json()["task"]["task_id"])
        image = task["images"][0]["url"]
        poll = f"/api/tasks/{task['task_id']}?wait=25&after=100"
        async with httpx2.AsyncClient(base_url=base) as browser_like:
            for site in ("cross-site", "same-site"):
                for path, mode, dest in [
                    (image, "no-cors", "image"),
                    (poll, "cors", "empty"),
                    ("/api/tasks", "no-cors", "script"),
                    ("/static/app.js", "no-cors", "script"),
                    ("/", "navigate", "iframe"),
                ]:
                    with anyio.fail_after(5):  # refused at once, never held
                        answer = await browser_like.get(path, headers=fetched_by(site, mode, dest))
                    assert answer.status_code == 403, (site, path)
                    assert "another site" in answer.json()["error"]
                    assert answer.headers["cross-origin-resource-policy"] == "same-origin"
                    assert answer.headers["x-content-type-options"] == "nosniff"
                # A link to the page or an image, opened by the person in a tab.
                for path in ("/", image):
                    opened = await browser_like.get(
                        path, headers=fetched_by(site, "navigate", "document")
                    )
                    assert opened.status_code == 200, (site, path)
            for site in ("same-origin", "none"):
                own = await browser_like.get(image, headers=fetched_by(site, "no-cors", "image"))
                assert own.status_code == 200


async def test_the_token_link_opened_from_another_site_s_page_opens_the_playground(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings: Settings = make_settings(sandbox, tmp_path / "home", http_token="t0k-en")
    async with serve_http(settings) as base, chromium() as browser:
        # The page at another name than the link's origin: a cross-site navigation.
        link = base.replace("127.0.0.1", "localhost") + "/?token=t0k-en"
        with another_local_server(f'<a id="go" href="{link}">open</a>') as elsewhere:
            page = await (await browser.new_context()).new_page()
            await page.goto(f"{elsewhere}/")
            await page.click("#go")
            await page.wait_for_url(link.removesuffix("?token=t0k-en"))
            await page.wait_for_selector("body[data-ready=true]")
            assert await page.title() == "imagegen studio"


async def test_a_preflight_is_answered_in_json_and_allows_nothing(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    async with serve_web(settings, static) as base, page_client(base) as http:
        asked = {"Access-Control-Request-Method": "POST"}
        own = await http.options("/api/generate", headers=asked)
        assert own.status_code == 405 and "takes POST" in own.json()["error"]
        foreign = await http.options(
            "/api/generate", headers={**asked, "Origin": "http://localhost:3000"}
        )
        assert foreign.status_code == 403
        for answer in (own, foreign):
            assert not any(h.startswith("access-control-") for h in answer.headers)
