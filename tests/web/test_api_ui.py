"""``imagegen-mcp ui``, run as a person would: it serves the page's API and MCP on one port,
prints the page's address (with the token when one is set) and opens the browser on it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from imagegen_mcp.server.ui import page_url, remote_urls
from imagegen_mcp.web.guard import cookie_value

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "EVOLINK_"))}
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    # webbrowser tries $BROWSER first: this one writes down the address it was asked to open.
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(0o755)
    return {**env, "IMAGEGEN_HOME": str(tmp_path / "home"), "BROWSER": f"{browser} %s", **extra}


async def printed_lines(process: Process, until: str) -> list[str]:
    assert process.stderr is not None
    lines: list[str] = []
    text = ""
    with anyio.fail_after(30):
        async for chunk in TextReceiveStream(process.stderr):
            text += chunk
            lines = text.splitlines()
            if any(line.startswith(until) for line in lines):
                return lines
    raise AssertionError(f"the command ended without printing {until!r}: {text}")


async def stop(process: Process) -> int:
    process.send_signal(signal.SIGINT)
    with anyio.fail_after(20):
        return await process.wait()


async def test_ui_with_the_sandbox_serves_the_api_and_mcp_and_opens_the_browser(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "imagegen_mcp", "ui", "--sandbox", "--port", "0"]
    async with await anyio.open_process(command, env=env_for(tmp_path)) as process:
        try:
            lines = await printed_lines(process, "Playground: ")
            url = next(line for line in lines if line.startswith("Playground: ")).split()[-1]
            assert any("built-in sandbox" in line for line in lines)
            assert url.startswith("http://127.0.0.1:") and url.endswith("/")
            async with httpx2.AsyncClient(base_url=url, headers={"Origin": url[:-1]}) as http:
                models = await http.get("/api/models")
                assert models.status_code == 200 and models.json()["default"]
                # The browser was opened (and its command ended) before the server answered.
                assert (tmp_path / "opened.txt").read_text() == url
                made = await http.post("/api/generate", json={"prompt": "a kite"})
                assert made.status_code == 201, made.text
                mcp = await http.post("/mcp", json={})
                assert mcp.status_code != 404
        finally:
            code = await stop(process)
    assert code in (0, -signal.SIGINT, 130)
    # The sandbox's tasks live apart from real ones.
    assert (tmp_path / "home" / "sandbox" / "state.db").exists()


async def test_ui_prints_the_link_with_the_token_and_no_browser_when_asked(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "imagegen_mcp", "ui", "--sandbox", "--port", "0"]
    env = env_for(tmp_path, IMAGEGEN_HTTP_TOKEN="t0k/en")
    async with await anyio.open_process([*command, "--no-browser"], env=env) as process:
        try:
            lines = await printed_lines(process, "Playground: ")
            url = next(line for line in lines if line.startswith("Playground: ")).split()[-1]
            assert url.endswith("/?token=t0k%2Fen")
            async with httpx2.AsyncClient() as http:
                login = await http.get(url)
                assert login.status_code == 303
                cookie = f"imagegen_token={cookie_value('t0k/en')};"
                assert login.headers["set-cookie"].startswith(cookie)
        finally:
            await stop(process)
    assert not (tmp_path / "opened.txt").exists()


def test_the_page_address_is_one_a_browser_here_can_open() -> None:
    assert page_url("127.0.0.1", 8000, None) == "http://127.0.0.1:8000/"
    assert page_url("0.0.0.0", 80, "a b") == "http://127.0.0.1:80/?token=a%20b"  # noqa: S104
    assert page_url("::", 1, None) == "http://[::1]:1/"
    assert page_url("0:0:0:0:0:0:0:1", 2, None) == "http://[::1]:2/"
    assert page_url("localhost", 3, None) == "http://localhost:3/"


def test_ui_refuses_in_one_line_what_it_cannot_serve(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "imagegen_mcp", "ui", "--sandbox", "--no-browser"]
    env = env_for(tmp_path)
    anywhere = subprocess.run(
        [*command, "--host", "0.0.0.0"],  # noqa: S104  # refused before anything binds
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert anywhere.returncode == 2
    assert anywhere.stderr.count("\n") == 1 and "IMAGEGEN_HTTP_TOKEN" in anywhere.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run(
            [*command, "--port", port], env=env, capture_output=True, text=True, timeout=60
        )
    assert busy.returncode == 2
    assert busy.stderr.splitlines()[-1].startswith(
        f"imagegen-mcp: Cannot listen on 127.0.0.1:{port}"
    )
    assert "--port" in busy.stderr
    assert not (tmp_path / "opened.txt").exists()


async def test_ui_on_every_address_prints_a_link_for_other_machines_and_says_the_token_is_needed(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "imagegen_mcp", "ui", "--sandbox", "--port", "0"]
    command += ["--no-browser", "--host", "0.0.0.0"]  # noqa: S104  # what is tested
    env = env_for(tmp_path, IMAGEGEN_HTTP_TOKEN="s3cret")
    async with await anyio.open_process(command, env=env) as process:
        try:
            lines = await printed_lines(process, "MCP ")
            here = next(line for line in lines if line.startswith("Playground: ")).split()[-1]
            port = urlsplit(here).port
            assert here == f"http://127.0.0.1:{port}/?token=s3cret"
            remote = [line.split()[-1] for line in lines if line.startswith("From another")]
            assert remote[0] == f"http://{socket.gethostname()}:{port}/?token=s3cret"
            assert not any((urlsplit(link).hostname or "").startswith("127.") for link in remote)
            assert any("needs the token" in line for line in lines)
            # The other machine's link is served: its Host is accepted and the token logs in.
            async with httpx2.AsyncClient() as http:
                login = await http.get(here, headers={"Host": urlsplit(remote[0]).netloc})
                assert login.status_code == 303, login.text
        finally:
            await stop(process)


def test_links_for_other_machines_only_for_a_bind_on_every_address() -> None:
    assert remote_urls("127.0.0.1", 8000, "t") == []
    assert remote_urls("192.0.2.1", 8000, "t") == []  # the bind address is the link already
    assert remote_urls("0.0.0.0", 80, "a b", name="192.0.2.7") == [  # noqa: S104
        "http://192.0.2.7:80/?token=a%20b"
    ]
    assert remote_urls("::", 81, None, name="2001:db8::5") == ["http://[2001:db8::5]:81/"]
    # With IMAGEGEN_ALLOWED_HOSTS the server answers only to those names: they are the links.
    allowed = ("studio.example", "box.example:*", "other.example:9999", "[2001:db8::7]")
    assert remote_urls("0.0.0.0", 82, "t", allowed=allowed) == [  # noqa: S104
        "http://studio.example:82/?token=t",
        "http://box.example:82/?token=t",
        "http://[2001:db8::7]:82/?token=t",
    ]
