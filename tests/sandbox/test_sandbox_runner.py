"""Ways to run the sandbox: in the test's loop, in a thread for sync code, and blocking (CLI)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx2
import pytest

from imagegen_mcp.sandbox import Sandbox, SandboxConfig


def test_run_in_thread_serves_synchronous_code() -> None:
    with Sandbox(SandboxConfig(task_duration=5.0)).run_in_thread() as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        with httpx2.Client(base_url=sb.base_url, headers=headers, trust_env=False) as client:
            created = client.post(
                "/v1/images/generations",
                json={"model": "gpt-4o-image", "prompt": "a boat", "size": "1:1"},
            ).json()
            sb.faults.queue("get", 503)
            assert client.get(f"/v1/tasks/{created['id']}").status_code == 503
            sb.advance(6.0)
            detail = client.get(f"/v1/tasks/{created['id']}").json()
            assert detail["status"] == "completed"
            assert client.get(detail["results"][0]).status_code == 200
        assert sb.counters.task_gets == 2
        base_url = sb.base_url
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(base_url + "/v1/credits", trust_env=False)


async def test_stop_releases_the_port_and_the_sandbox_can_restart() -> None:
    sb = Sandbox()
    async with sb:
        first = sb.base_url
    with pytest.raises(RuntimeError, match="not running"):
        _ = sb.base_url
    async with sb:
        assert sb.base_url.startswith("http://127.0.0.1:")
    async with httpx2.AsyncClient(trust_env=False) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(first + "/v1/credits")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to the child")
def test_serve_blocks_until_ctrl_c_then_returns_quietly() -> None:
    port = free_port()
    code = (
        "from imagegen_mcp.sandbox import Sandbox\n"
        f"Sandbox().serve(host='127.0.0.1', port={port})\n"
        "print('returned')\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx2.get(
                    f"http://127.0.0.1:{port}/v1/credits",
                    headers={"Authorization": "Bearer sk-evo-sandbox"},
                    trust_env=False,
                )
                break
            except httpx2.ConnectError:
                assert time.monotonic() < deadline, "sandbox did not start"
                assert child.poll() is None, child.communicate()
                time.sleep(0.02)  # polling a child process: no clock to advance here
        assert response.status_code == 200
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    assert out == "returned\n"
    assert "Traceback" not in err
