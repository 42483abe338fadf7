"""``serve --transport http`` as a user runs it: it says where to connect (like ``ui``), on the
port it really bound, and a port already taken is one line with the fix, not a server log."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import anyio
import httpx2
from anyio.streams.text import TextReceiveStream

from tests.server.test_cli import assert_one_line_failure, clean_env, run


async def test_serve_over_http_prints_the_mcp_address_it_answers_on(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "imagegen_mcp", "serve", "--transport", "http"]
    async with await anyio.open_process(
        [*command, "--sandbox", "--port", "0"], env=clean_env(tmp_path)
    ) as proc:
        try:
            assert proc.stderr is not None
            with anyio.fail_after(60):
                said = ""
                async for chunk in TextReceiveStream(proc.stderr):
                    said += chunk
                    if "\n" in said:
                        break
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
