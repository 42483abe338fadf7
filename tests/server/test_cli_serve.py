"""``serve`` as a person runs it: over HTTP it says where to connect (like ``ui``), on the port
it really bound, and a port already taken is one line with the fix, not a server log; over stdio
from a terminal it says what it waits for, and under a host (a pipe) it says nothing."""

from __future__ import annotations

import io
import os
import pty
import re
import socket
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from imagegen_mcp.server.startup import hint_at_a_terminal
from tests.server.test_cli import assert_one_line_failure, clean_env, run


async def first_line(proc: Process) -> str:
    """What the process writes to stderr up to its first newline (within a minute)."""
    assert proc.stderr is not None
    with anyio.fail_after(60):
        said = ""
        async for chunk in TextReceiveStream(proc.stderr):
            said += chunk
            if "\n" in said:
                break
    return said


async def test_serve_over_http_prints_the_mcp_address_it_answers_on(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "imagegen_mcp", "serve", "--transport", "http"]
    async with await anyio.open_process(
        [*command, "--sandbox", "--port", "0"], env=clean_env(tmp_path)
    ) as proc:
        try:
            said = await first_line(proc)
            found = re.fullmatch(
                r"MCP \(streamable HTTP\): (http://127\.0\.0\.1:\d+/)mcp, playground: \1 "
                r"\(Ctrl\+C stops\)\n",
                said,
            )
            assert found, said
            async with httpx2.AsyncClient(timeout=30) as http:
                page = await http.get(found[1])
            assert page.status_code == 200 and "imagegen studio" in page.text
        finally:
            proc.terminate()


def test_serve_over_http_on_a_port_in_use_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = clean_env(tmp_path)
        proc = run("serve", "--transport", "http", "--sandbox", "--port", port, env=env)
    assert_one_line_failure(proc, f"Cannot listen on 127.0.0.1:{port}", "pick another --port")


async def test_serve_over_stdio_from_a_terminal_says_what_it_waits_for(tmp_path: Path) -> None:
    terminal, stdin = pty.openpty()
    command = [sys.executable, "-m", "imagegen_mcp", "serve", "--sandbox"]
    try:
        async with await anyio.open_process(command, stdin=stdin, env=clean_env(tmp_path)) as proc:
            try:
                said = await first_line(proc)
                assert said.startswith("imagegen-mcp: serving MCP on stdin/stdout"), said
                assert "Host configuration" in said and "imagegen-mcp ui --sandbox" in said
            finally:
                proc.terminate()
    finally:
        os.close(terminal)
        os.close(stdin)


def test_under_a_host_stdio_gets_no_hint(capsys: pytest.CaptureFixture[str]) -> None:
    hint_at_a_terminal(io.StringIO())  # a pipe, as a host gives: not a terminal
    assert capsys.readouterr() == ("", "")
