"""No new back door: the playground's routes refuse foreign Host and Origin headers like
``/mcp``, take no POST without an Origin, need the token (header or cookie) when one is set, serve
no file outside the page's folder, and ask before paying as the tools do."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx2
import pytest

from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.web.guard import cookie_value
from tests.support.settings import make_settings
from tests.web.api_support import (
    finished,
    one_line_error,
    page_client,
    png,
    serve_web,
    upload,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROUTES = ["/", "/static/app.js", "/api/models", "/api/tasks", "/api/uploads/" + "0" * 64]


async def raw_status(base: str, path: str) -> int:
    """The status for ``path`` sent byte for byte (clients tidy ``..`` away before sending)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        await stream.send(request.encode())
        head = b""
        while b"\r\n" not in head:
            head += await stream.receive()
    return int(head.split(b" ", 2)[1])


async def test_foreign_hosts_and_origins_are_refused_on_every_route(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    async with serve_web(settings, static) as base, httpx2.AsyncClient(base_url=base) as http:
        wrong_method = await http.get("/api/generate")
        assert wrong_method.status_code == 405 and "POST" in one_line_error(wrong_method)
        nothing = await http.post("/api/nothing", json={}, headers={"Origin": base})
        assert nothing.status_code == 404 and "No API route" in one_line_error(nothing)
        for path in ["/", "/static/app.js", "/api/models", "/api/nothing"]:
            answer = await http.get(path)
            assert answer.headers["cross-origin-resource-policy"] == "same-origin", path
            assert answer.headers["x-content-type-options"] == "nosniff", path
        for path in ROUTES:
            foreign = await http.get(path, headers={"Host": "evil.example"})
            assert foreign.status_code == 421, path
            assert "host name" in one_line_error(foreign)
            origin = await http.get(path, headers={"Origin": "http://evil.example"})
            assert origin.status_code == 403, path
            # A page of this server (same-origin GETs often carry no Origin) is served.
            assert (await http.get(path, headers={"Origin": base})).status_code in (200, 404)
        assert (await http.get("/api/models")).status_code == 200
        body = {"prompt": "a fox"}
        rebound = await http.post(
            "/api/generate", json=body, headers={"Host": "evil.example", "Origin": base}
        )
        assert rebound.status_code == 421
        cross = await http.post(
            "/api/generate", json=body, headers={"Origin": "http://evil.example"}
        )
        assert cross.status_code == 403
        bare = await http.post("/api/generate", json=body)
        assert bare.status_code == 403 and "Origin" in one_line_error(bare)
        upload_bare = await http.post("/api/uploads", files={"file": ("a.png", png())})
        assert upload_bare.status_code == 403
        null = await http.post("/api/generate", json=body, headers={"Origin": "null"})
        assert null.status_code == 403
        port = base.rsplit(":", 1)[1]
        local = await http.post(
            "/api/generate",
            json=body,
            headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"},
        )
        assert local.status_code == 201, local.text
    assert sandbox.counters.create_requests == 1 and sandbox.counters.uploads == 0


async def test_the_token_is_required_as_a_header_or_the_cookie_the_link_sets(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", http_token="s3cret-token")
    anywhere = "0.0.0.0"  # noqa: S104  # the app is told so; the socket stays on loopback
    async with serve_web(settings, static, app_host=anywhere) as base, page_client(base) as http:
        for path in ROUTES:
            refused = await http.get(path)
            assert refused.status_code == 401, path
            assert "token" in one_line_error(refused)
            assert "s3cret" not in refused.text
        bearer = {"Authorization": "Bearer s3cret-token"}
        assert (await http.get("/api/models", headers=bearer)).status_code == 200
        wrong = await http.get("/api/models", headers={"Authorization": "Bearer s3cret"})
        assert wrong.status_code == 401
        assert (await http.get("/", params={"token": "nope"})).status_code == 401

        login = await http.get("/", params={"token": "s3cret-token"})
        assert login.status_code == 303 and login.headers["location"] == "/"
        cookie = login.headers["set-cookie"]
        value = cookie_value("s3cret-token")
        assert cookie.startswith(f"imagegen_token={value};") and "s3cret" not in cookie
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert "path=/" in cookie.lower()
        jar = {"Cookie": f"imagegen_token={value}"}
        page = await http.get("/", headers=jar)
        assert page.status_code == 200 and "<title>Playground</title>" in page.text
        assert (await http.get("/api/models", headers=jar)).status_code == 200
        stored = await http.post("/api/uploads", files={"file": ("a.png", png())}, headers=jar)
        assert stored.status_code == 201
        for wrong_cookie in ("s3cret-token", value[:-1] + "0", cookie_value("other")):
            bad_jar = {"Cookie": f"imagegen_token={wrong_cookie}"}
            assert (await http.get("/api/models", headers=bad_jar)).status_code == 401
        # The cookie opens the page's routes only: MCP still needs the header.
        mcp = await http.post("/mcp", json={}, headers=jar)
        assert mcp.status_code == 401
        # The upstream's callback stays reachable without it.
        callback = await http.post("/callbacks/evolink/unknown", json={})
        assert callback.status_code == 404


async def test_static_paths_never_leave_the_page_folder(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    os.symlink(tmp_path / "page" / "secret.txt", static / "link.txt")
    async with serve_web(settings, static) as base, httpx2.AsyncClient(base_url=base) as http:
        assert await raw_status(base, "/static/sub/style.css") == 200  # the probe itself works
        script = await http.get("/static/app.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["x-content-type-options"] == "nosniff"
        css = await http.get("/static/sub/style.css")
        assert css.headers["content-type"].startswith("text/css")
        index = await http.get("/")
        assert index.headers["content-type"].startswith("text/html")
        for path in [
            "/static/../secret.txt",
            "/static/%2e%2e/secret.txt",
            "/static/sub/%2E%2E/%2e%2e/secret.txt",
            "/static/sub/../../secret.txt",
            "/static/%2F..%2Fsecret.txt",
            "/static//etc/passwd",
            "/static/" + str(tmp_path / "page" / "secret.txt"),
            "/static/..%5csecret.txt",
            "/static/link.txt",
            "/static/.hidden",
            "/static/sub",
            "/static/sub/",
            "/static/",
            "/static/missing.js",
        ]:
            assert await raw_status(base, path) == 404, path
        listing = await http.get("/static/sub/")
        assert "style.css" not in listing.text


async def test_a_costly_request_is_asked_with_409_and_paid_only_once_confirmed(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    # gpt-4o-image is priced 2.5 credits an image: one image is below 4, two above.
    settings = make_settings(sandbox, tmp_path / "home", confirm_above_credits=4.0)
    async with serve_web(settings, static) as base, page_client(base) as http:
        ref = await upload(http, png())
        body = {"prompt": "two foxes", "n": 2, "reference_images": [f"upload:{ref['id']}"]}
        asked = await http.post("/api/generate", json=body)
        assert asked.status_code == 409, asked.text
        question = asked.json()
        assert question["estimate"] == 5.0
        assert "about 5 credits" in question["confirm"] and "Proceed?" in question["confirm"]
        assert (sandbox.counters.create_requests, sandbox.counters.uploads) == (0, 0)

        paid = await http.post("/api/generate", json={**body, "confirmed": True})
        assert paid.status_code == 201, paid.text
        assert (await finished(http, paid.json()["task"]["task_id"]))["status"] == "completed"
        cheap = await http.post("/api/generate", json={"prompt": "one fox"})
        assert cheap.status_code == 201, cheap.text
        edit = await http.post(
            "/api/edit", json={"prompt": "x", "image": f"upload:{ref['id']}", "n": 2}
        )
        assert edit.status_code == 409
    assert sandbox.counters.creates == 2


async def test_a_request_over_the_daily_budget_is_refused_before_upload_and_unasked(
    sandbox: Sandbox, tmp_path: Path, static: Path
) -> None:
    settings = make_settings(
        sandbox, tmp_path / "home", max_credits_per_day=1.0, confirm_above_credits=0.5
    )
    async with serve_web(settings, static) as base, page_client(base) as http:
        ref = await upload(http, png())
        answer = await http.post(
            "/api/generate", json={"prompt": "a fox", "reference_images": [f"upload:{ref['id']}"]}
        )
        assert answer.status_code == 402, answer.text
        assert "Daily credit budget" in one_line_error(answer)
        spend = (await http.get("/api/tasks")).json()["spend"]
        assert spend["budget"] == 1.0 and spend["last_24h"] == 0
    assert (sandbox.counters.create_requests, sandbox.counters.uploads) == (0, 0)
