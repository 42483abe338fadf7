"""Soak: tasks under injected faults while the server is SIGKILLed at random moments.

The sandbox (the upstream) runs in a thread of this process and outlives every server. The
server is the real ``python -m imagegen_mcp`` over stdio, spawned through the MCP SDK's client;
``sh -c 'echo $$ > pidfile; exec ...'`` gives us its pid. "Agents" (concurrent workers, one per
logical request) behave as a careful agent would: ``generate_image`` with a ``client_request_id``,
then ``get_task`` until the task is terminal; when the server dies under them they reconnect to
the next incarnation and repeat the same call (same ``client_request_id``: never a new task).

Faults: a share of task GETs answer 503 or drop the connection; a share of result downloads are
truncated, slow (chunked with pauses), dropped or 503. The create is not faulted (the issue
asks for faults on GETs and downloads); a kill may still land in the middle of a create.

Checked at the end, from the store, the output directory and the sandbox's own records:

* lost: images the upstream produced for a task it charged for, with no identical file saved;
* duplicated: image files beyond one per (task, index), and tasks created twice upstream for
  one logical request (``creates sent twice``);
* open: tasks still submitting, pending or processing;
* leftovers: ``.partial`` download files.

A kill that lands between a create reaching the upstream and its answer being recorded leaves
the task ``unknown`` (the upstream has no idempotency key or task list, so nobody can tell):
those are counted separately as ``ambiguous``; a charged one also counts as lost.

Run: ``python bench/soak.py [--tasks 100] [--kills 8]``; results go to
``bench/results/soak.json``. ``tests/service/test_soak.py`` runs a short variant.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` importable as a script

import anyio
from mcp import Client, StdioServerParameters

from bench.common import machine
from imagegen_mcp.models import SIZES
from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
START_TIMEOUT = 60.0  # spawn to tools/list answered
CALL_GRACE = 30.0  # a tool call unanswered this long after its wait_seconds has hung
OPEN = ("submitting", "pending", "processing")
TERMINAL = ("completed", "failed", "unknown", "expired")


@dataclass
class SoakConfig:
    tasks: int = 100
    kills: int = 8
    kill_after: tuple[float, float] = (1.0, 5.0)  # seconds from a server's start to its kill
    concurrency: int = 25  # agents in flight at once
    duration: float = 4.0  # mean task duration upstream (+-50%)
    get_faults: float = 0.2  # share of task GETs that fail (503 or dropped)
    download_faults: float = 0.2  # share of downloads truncated, slow, dropped or 503
    rps: float = 20.0  # the server's upstream request cap
    wait_seconds: float = 5.0  # what agents pass to the tools
    seed: int = 11
    timeout: float = 900.0  # give up on the whole run after this long


@dataclass
class Request:
    """One logical request of one agent, across server incarnations."""

    index: int
    crid: str
    prompt: str
    size: str
    n: int
    task_id: str | None = None
    status: str | None = None
    calls: int = 0
    tool_errors: list[str] = field(default_factory=list)
    interrupted: int = 0  # kills that found this request unfinished
    hung: list[str] = field(default_factory=list)  # calls never answered
    not_sent: int = 0  # times the task came back failed as never sent, and was asked again


@dataclass
class SoakReport:
    config: dict[str, Any]
    wall_seconds: float
    kills: int
    incarnations: int
    statuses: dict[str, int]
    images_expected: int
    images_saved: int
    images_lost: int
    images_duplicated: int
    creates_twice: int
    tasks_open: int
    partial_files: int
    ambiguous: int
    ambiguous_charged: int
    upstream_creates: int
    upstream_gets: int
    upstream_downloads: int
    tool_calls: int
    resent_after_kill: int
    tool_errors: int
    interrupted_calls: int
    start_seconds: list[float]
    server_log_lines: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


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
        return _check(cfg, sb, home, requests, wall, kills, incarnations, start_seconds)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(
    cfg: SoakConfig,
    sb: Sandbox,
    home: Path,
    requests: list[Request],
    wall: float,
    kills: int,
    incarnations: int,
    start_seconds: list[float],
) -> SoakReport:
    problems: list[str] = []
    db = sqlite3.connect(home / "state.db")
    db.row_factory = sqlite3.Row
    tasks = {r["id"]: r for r in db.execute("SELECT * FROM tasks")}
    images = {(r["task_id"], r["idx"]): r for r in db.execute("SELECT * FROM images")}
    db.close()
    by_upstream = {t["upstream_id"]: t for t in tasks.values() if t["upstream_id"]}

    statuses: dict[str, int] = {}
    for t in tasks.values():
        statuses[t["status"]] = statuses.get(t["status"], 0) + 1
    tasks_open = sum(statuses.get(s, 0) for s in OPEN)

    # Upstream side: tasks per logical request, and every charged image against our disk.
    per_prompt: dict[str, int] = {}
    expected = lost = ambiguous_charged = 0
    for rec in sb.tasks.values():
        per_prompt[rec.params.prompt] = per_prompt.get(rec.params.prompt, 0) + 1
        if rec.outcome != "completed":
            continue
        expected += len(rec.images)
        ours = by_upstream.get(rec.id)
        if ours is None:
            ambiguous_charged += 1
            lost += len(rec.images)
            problems.append(f"upstream task {rec.id} ({rec.params.prompt[:20]}) unknown to us")
            continue
        for i, data in enumerate(rec.images):
            row = images.get((ours["id"], i))
            path = Path(row["path"]) if row else None
            if path is None or not path.is_file() or _sha(path.read_bytes()) != _sha(data):
                lost += 1
                problems.append(f"image {i} of {ours['id']} missing or different on disk")
    creates_twice = sum(c - 1 for c in per_prompt.values() if c > 1)

    # Disk side: one file per saved image, nothing half-written left behind.
    out = home / "images"
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".png", ".jpg", ".webp")]
    partial = [p for p in out.rglob("*") if p.is_file() and ".partial" in p.parts]
    files = [p for p in files if ".partial" not in p.parts]
    duplicated = max(0, len(files) - len(images))
    saved = sum(1 for row in images.values() if Path(row["path"]).is_file())

    ambiguous = statuses.get("unknown", 0)
    log = home / "server.log"
    log_text = log.read_text(errors="replace") if log.exists() else ""
    tracebacks = log_text.count("Traceback (most recent call last)")
    if tracebacks:
        problems.append(f"{tracebacks} tracebacks in the server's log")
    for r in requests:
        if r.status not in TERMINAL:
            problems.append(f"request {r.index} never ended")
        problems.extend(f"request {r.index}: {call} was never answered" for call in r.hung)
    if tasks_open:
        problems.append(f"{tasks_open} tasks left open")
    if creates_twice:
        problems.append(f"{creates_twice} creates sent twice")
    if duplicated:
        problems.append(f"{duplicated} duplicated image files")
    if partial:
        problems.append(f"{len(partial)} .partial files left")
    if len(tasks) != len(requests):
        problems.append(f"{len(tasks)} tasks in the store for {len(requests)} requests")

    c = sb.counters
    return SoakReport(
        config=asdict(cfg),
        wall_seconds=round(wall, 2),
        kills=kills,
        incarnations=incarnations,
        statuses=statuses,
        images_expected=expected,
        images_saved=saved,
        images_lost=lost,
        images_duplicated=duplicated,
        creates_twice=creates_twice,
        tasks_open=tasks_open,
        partial_files=len(partial),
        ambiguous=ambiguous,
        ambiguous_charged=ambiguous_charged,
        upstream_creates=c.creates,
        upstream_gets=c.task_gets,
        upstream_downloads=c.downloads,
        tool_calls=sum(r.calls for r in requests),
        resent_after_kill=sum(r.not_sent for r in requests),
        tool_errors=sum(len(r.tool_errors) for r in requests),
        interrupted_calls=sum(r.interrupted for r in requests),
        start_seconds=[round(s, 3) for s in start_seconds],
        server_log_lines=len(log_text.splitlines()),
        problems=problems,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _table(rep: SoakReport) -> str:
    rows = [
        ("tasks (logical requests)", rep.config["tasks"]),
        ("server SIGKILLs / processes", f"{rep.kills} / {rep.incarnations}"),
        ("wall time", f"{rep.wall_seconds:.1f} s"),
        ("final statuses", ", ".join(f"{k} {v}" for k, v in sorted(rep.statuses.items()))),
        ("images charged upstream", rep.images_expected),
        ("images saved", rep.images_saved),
        ("images lost", rep.images_lost),
        ("image files duplicated", rep.images_duplicated),
        ("creates sent twice", rep.creates_twice),
        ("tasks left open", rep.tasks_open),
        (".partial files left", rep.partial_files),
        ("unknown (ambiguous create)", f"{rep.ambiguous} ({rep.ambiguous_charged} charged)"),
        ("never sent before a kill, asked again", rep.resent_after_kill),
        (
            "upstream creates / GETs / downloads",
            f"{rep.upstream_creates} / {rep.upstream_gets} / {rep.upstream_downloads}",
        ),
        (
            "tool calls / is_error / unfinished at a kill (summed)",
            f"{rep.tool_calls} / {rep.tool_errors} / {rep.interrupted_calls}",
        ),
        ("server start (median)", f"{statistics.median(rep.start_seconds):.2f} s"),
        ("server log lines (stderr)", rep.server_log_lines),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    d = SoakConfig()
    p.add_argument("--tasks", type=int, default=d.tasks)
    p.add_argument("--kills", type=int, default=d.kills)
    p.add_argument(
        "--kill-after",
        type=float,
        nargs=2,
        default=d.kill_after,
        metavar=("MIN", "MAX"),
        help="each server is killed this many seconds after it starts (uniform)",
    )
    p.add_argument("--duration", type=float, default=d.duration, help="mean task seconds")
    p.add_argument("--concurrency", type=int, default=d.concurrency)
    p.add_argument("--rps", type=float, default=d.rps, help="the server's request cap")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args()
    cfg = SoakConfig(
        tasks=a.tasks,
        kills=a.kills,
        kill_after=tuple(a.kill_after),
        duration=a.duration,
        concurrency=a.concurrency,
        rps=a.rps,
        seed=a.seed,
    )
    workdir = Path(tempfile.mkdtemp(prefix="imagegen-soak-"))
    rep = anyio.run(run_soak, cfg, workdir)
    print(_table(rep))
    for problem in rep.problems[:20]:
        print("PROBLEM:", problem)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine(), "when": _now(), **asdict(rep)}, indent=2))
    print(f"\nwrote {RESULTS}" + (f"; work directory {workdir}" if a.keep else ""))
    if not a.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if rep.ok else 1)


if __name__ == "__main__":
    main()
