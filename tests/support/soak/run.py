"""Running a soak: agents calling the real stdio server while it is SIGKILLed and restarted."""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig
from tests.support.catalog import SIZES
from tests.support.soak.check import SoakReport, check
from tests.support.soak.config import CALL_GRACE, START_TIMEOUT, TERMINAL, Request, SoakConfig


def sandbox_config(cfg: SoakConfig) -> SandboxConfig:
    sc = SandboxConfig(
        task_duration=cfg.duration,
        duration_jitter=0.5,
        estimate_error=0.3,
        credits=1e9,
        seed=cfg.seed,
    )
    g, d = cfg.get_faults, cfg.download_faults
    sc.faults.rates = {
        "get": {503: g / 2, "drop": g / 2},
        "download": {"truncate": d / 3, "slow": d / 3, "drop": d / 6, 503: d / 6},
    }
    sc.faults.slow_chunk_delay = 0.02
    return sc


def server_params(sb: Sandbox, home: Path, pidfile: Path, cfg: SoakConfig) -> StdioServerParameters:
    env = {
        **os.environ,
        "EVOLINK_API_KEY": SANDBOX_API_KEY,
        "IMAGEGEN_API_BASE": sb.base_url,
        "IMAGEGEN_FILES_BASE": sb.base_url,
        "IMAGEGEN_HOME": str(home),
        "IMAGEGEN_MAX_REQUESTS_PER_SECOND": str(cfg.rps),
    }
    # exec keeps the shell's pid, so the pid written is the server's own.
    log = home / "server.log"
    script = f'echo $$ > "{pidfile}"; exec "{sys.executable}" -m imagegen_mcp 2>>"{log}"'
    return StdioServerParameters(command="sh", args=["-c", script], env=env)


def _view(result: Any) -> dict[str, Any]:
    sc = result.structured_content
    return sc if isinstance(sc, dict) else {}


async def _agent(client: Client, req: Request, cfg: SoakConfig) -> None:
    while req.status not in TERMINAL:
        req.calls += 1
        if req.task_id is None:
            args: dict[str, Any] = {
                "prompt": req.prompt,
                "size": req.size,
                "n": req.n,
                "client_request_id": req.crid,
                "wait_seconds": cfg.wait_seconds,
                "preview": "none",
            }
            tool = "generate_image"
        else:
            tool = "get_task"
            args = {"task_id": req.task_id, "wait_seconds": cfg.wait_seconds, "preview": "none"}
        try:
            with anyio.fail_after(cfg.wait_seconds + CALL_GRACE):
                result = await client.call_tool(tool, args)
        except TimeoutError:  # a problem to report; the agent asks again
            req.hung.append(f"{tool} {args.get('task_id') or req.crid} at {time.time():.3f}")
            continue
        view = _view(result)
        if "task_id" not in view:  # refused before a task existed: ask again
            text = " ".join(getattr(c, "text", "") for c in result.content)
            req.tool_errors.append(text[:300])
            await anyio.sleep(0.5)
            continue
        # A task's result (is_error for failed, unknown and expired ones) ends the loop once
        # its status is terminal.
        req.task_id = view["task_id"]
        req.status = view["status"]
        if req.status == "failed" and (view.get("error") or {}).get("code") == "create_not_sent":
            # Never sent (the server died first): the result says to call again, and the same
            # client_request_id sends the same task.
            req.not_sent += 1
            req.task_id = req.status = None


async def _incarnation(
    sb: Sandbox, home: Path, cfg: SoakConfig, todo: list[Request], kill_at: float | None
) -> tuple[bool, float]:
    """One server process: run agents until all requests end or the kill. (killed, start s)."""
    pidfile = home / "server.pid"
    pidfile.unlink(missing_ok=True)
    killed = False
    t0 = time.monotonic()
    limiter = anyio.CapacityLimiter(cfg.concurrency)
    # A hang in the SDK's initialize is caught by the run's overall timeout.
    async with Client(server_params(sb, home, pidfile, cfg)) as client:
        with anyio.fail_after(START_TIMEOUT):  # a server that never answers is a finding
            await client.list_tools()
        started = time.monotonic() - t0

        async def guarded(req: Request) -> None:
            async with limiter:
                await _agent(client, req, cfg)

        async def killer(after: float, scope: anyio.CancelScope) -> None:
            nonlocal killed
            await anyio.sleep(after)
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
            killed = True
            scope.cancel()

        async with anyio.create_task_group() as tg:
            if kill_at is not None:
                tg.start_soon(killer, kill_at, tg.cancel_scope)
            async with anyio.create_task_group() as agents:
                for req in todo:
                    agents.start_soon(guarded, req)
            tg.cancel_scope.cancel()  # every request ended before the kill: no kill
        if killed:
            for req in todo:
                if req.status not in TERMINAL:
                    req.interrupted += 1
    return killed, started


async def run_soak(cfg: SoakConfig, workdir: Path) -> SoakReport:
    rng = random.Random(cfg.seed)
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    requests = [
        Request(
            index=i,
            crid=f"soak-{cfg.seed}-{i}",
            prompt=f"soak request {i}: a lighthouse in weather {rng.random():.6f}",
            size=rng.choice(SIZES),
            n=rng.choice((1, 1, 2, 4)),
        )
        for i in range(cfg.tasks)
    ]
    kills = 0
    incarnations = 0
    start_seconds: list[float] = []
    t0 = time.monotonic()
    with Sandbox(sandbox_config(cfg)).run_in_thread() as sb:
        with anyio.fail_after(cfg.timeout):
            while True:
                todo = [r for r in requests if r.status not in TERMINAL]
                if not todo:
                    break
                kill_at = rng.uniform(*cfg.kill_after) if kills < cfg.kills else None
                incarnations += 1
                killed, started = await _incarnation(sb, home, cfg, todo, kill_at)
                start_seconds.append(started)
                kills += killed
        wall = time.monotonic() - t0
        return check(cfg, sb, home, requests, wall, kills, incarnations, start_seconds)
