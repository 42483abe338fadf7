"""A long poll of the playground ends with its client: a page that goes away mid-poll (its
socket closed) frees the server's waiter at once, not after the poll's 25 s."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.web import longpoll
from tests.support.settings import WAIT, make_settings
from tests.web.api_support import page_client, page_folder, serve_web

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def held_becomes(count: int) -> None:
    with anyio.fail_after(5):  # well within the 25 s a forgotten poll would be held
        while longpoll.held() != count:
            await anyio.sleep(0.02)


async def test_a_long_poll_stops_waiting_when_its_client_disconnects(tmp_path: Path) -> None:
    # A task that runs far longer than the test: only the disconnect can end the poll early.
    async with Sandbox(SandboxConfig(task_duration=120.0, pending_fraction=0.0, seed=3)) as sandbox:
        settings = make_settings(sandbox, tmp_path / "home")
        static = page_folder(tmp_path / "page")
        async with serve_web(settings, static) as base, page_client(base) as http:
            made = await http.post("/api/generate", json={"prompt": "a very slow river"})
            task_id = made.json()["task"]["task_id"]
            with anyio.fail_after(WAIT):  # running, so no status change ends the poll either
                while True:
                    answer = await http.get(f"/api/tasks/{task_id}")
                    if answer.json()["task"]["status"] == "processing":
                        break
                    await anyio.sleep(0.05)

            where = urlsplit(base)
            assert where.hostname is not None and where.port is not None
            poll = (
                f"GET /api/tasks/{task_id}?wait=25&after=100 HTTP/1.1\r\n"
                f"Host: {where.netloc}\r\n\r\n"
            )
            stream = await anyio.connect_tcp(where.hostname, where.port)
            await stream.send(poll.encode())
            await held_becomes(1)
            await stream.aclose()  # the page goes away mid-poll
            await held_becomes(0)

            # A poll whose client stays is still answered when the wait runs out.
            quick = await http.get(f"/api/tasks/{task_id}", params={"wait": 0.2, "after": 100})
            assert quick.status_code == 200 and quick.json()["task"]["task_id"] == task_id
            assert longpoll.held() == 0
