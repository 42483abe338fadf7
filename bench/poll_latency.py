"""Poll latency: our background poller against a fixed 4 s poll, on the sandbox over loopback.

Target (from the issue): with jittered durations and estimates off by up to 30%, the median
delay from upstream completion to the download is at most 1 s, with no more task GETs in total
than a fixed 4 s interval would make.

Arms, all in one run, each against its own in-process sandbox (same seed, tasks submitted one by
one in the same order, so task i has the same true duration and estimate in every arm):

* ``ours``: the real engine (``open_engine`` with the production ``PollerConfig()``).
* ``fixed-4s``: a poller written here on the project's ``EvoLinkClient``: GET every task at
  submit + k * interval until it completes, then download its results into memory.
* ``callbacks``: the real engine with ``public_url`` pointing at a loopback receiver that hands
  each upstream callback to ``engine.handle_callback`` (skip with ``--no-callbacks``).

Delay of a task = time its first result download finished on our side - its true completion
time (the sandbox record's ``due_at``; the sandbox clock is ``time.monotonic()`` plus an offset
that only ``advance()`` moves, which this script never calls). GETs are the sandbox's own count.

Run: ``python -m bench.poll_latency [--tasks N] [--duration S]``; results go to
``bench/results/poll_latency.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.support.settings import make_settings

from bench.common import (
    add_task_options,
    fmt,
    parser,
    percentile,
    quiet_logging,
    task_options,
    verdict,
    write_report,
)
from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.ratelimit import RateLimiter
from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.models import DEFAULT_MODEL, TaskRequest
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.service.engine import TaskEngine, callback_path
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.service.statuses import upstream_status

TARGET_MEDIAN = 1.0  # seconds, from the issue


# --- instrumentation -------------------------------------------------------------------------


@dataclass
class Trace:
    """What one arm's client did, keyed by upstream task id (``time.monotonic()`` seconds)."""

    gets: dict[str, list[float]] = field(default_factory=dict)
    downloaded: dict[str, float] = field(default_factory=dict)  # first download finished
    saved: dict[str, float] = field(default_factory=dict)  # first image committed to disk
    callbacks: dict[str, float] = field(default_factory=dict)  # first callback received


def result_task_id(url: str) -> str:
    """The sandbox task id in a result URL (``/results/{task_id}/{token}/{i}.png``)."""
    return urlsplit(url).path.split("/")[2]


def instrument(client: EvoLinkClient, trace: Trace) -> None:
    """Time-stamp every task GET (when sent) and every finished download of ``client``."""
    get_task = client.get_task
    download = client.download

    async def traced_get(upstream_id: str, **kw: Any) -> UpstreamTask:
        trace.gets.setdefault(upstream_id, []).append(time.monotonic())
        return await get_task(upstream_id, **kw)

    async def traced_download(url: str, sink: Any, **kw: Any) -> str | None:
        content_type = await download(url, sink, **kw)
        trace.downloaded.setdefault(result_task_id(url), time.monotonic())
        return content_type

    client.get_task = traced_get  # type: ignore[method-assign]
    client.download = traced_download  # type: ignore[method-assign]


def instrument_engine(engine: TaskEngine, trace: Trace) -> None:
    instrument(engine.client, trace)
    commit = engine.saver.commit

    async def traced_commit(sink: Any, **kw: Any) -> Any:
        image = await commit(sink, **kw)
        upstream_id = kw["task"].upstream_id
        if upstream_id is not None:
            trace.saved.setdefault(upstream_id, time.monotonic())
        return image

    engine.saver.commit = traced_commit  # type: ignore[method-assign]


class MemorySink:
    """A download sink that keeps the bytes in memory (the baseline does not save to disk)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def reset(self) -> None:
        self.data.clear()

    def write(self, chunk: bytes) -> None:
        self.data.extend(chunk)


# --- results ---------------------------------------------------------------------------------


@dataclass
class TaskSample:
    index: int
    upstream_id: str
    duration: float  # true seconds from create to completed
    estimate: int  # estimated_time the sandbox reported
    delay: float | None  # first download finished - true completion
    saved_delay: float | None  # first image on disk - true completion (engine arms)
    callback_delay: float | None  # callback received - true completion (callback arm)
    gets: int
    get_times: list[float]  # seconds since submit, when each GET was sent


@dataclass
class ArmResult:
    name: str
    samples: list[TaskSample]
    total_gets: int  # sandbox counter: every task GET the sandbox answered
    downloads: int  # sandbox counter
    wall: float
    statuses: dict[str, int]


def collect(
    name: str, sb: Sandbox, order: list[str], trace: Trace, wall: float, statuses: dict[str, int]
) -> ArmResult:
    samples: list[TaskSample] = []
    for index, upstream_id in enumerate(order):
        record = sb.tasks[upstream_id]
        # Sandbox clock -> time.monotonic(): subtract the clock's current offset (0 unless
        # someone called advance(), which this benchmark never does).
        offset = record.clock.now() - time.monotonic()
        submitted = record.started_at - offset
        completed = record.due_at - offset

        def since_done(t: float | None, completed: float = completed) -> float | None:
            return None if t is None else t - completed

        gets = trace.gets.get(upstream_id, [])
        samples.append(
            TaskSample(
                index=index,
                upstream_id=upstream_id,
                duration=record.due_at - record.started_at,
                estimate=record.estimated_time,
                delay=since_done(trace.downloaded.get(upstream_id)),
                saved_delay=since_done(trace.saved.get(upstream_id)),
                callback_delay=since_done(trace.callbacks.get(upstream_id)),
                gets=len(gets),
                get_times=[round(t - submitted, 3) for t in gets],
            )
        )
    return ArmResult(
        name=name,
        samples=samples,
        total_gets=sb.counters.task_gets,
        downloads=sb.counters.downloads,
        wall=wall,
        statuses=statuses,
    )


def summary(arm: ArmResult) -> dict[str, Any]:
    delays = [s.delay for s in arm.samples if s.delay is not None]
    saved = [s.saved_delay for s in arm.samples if s.saved_delay is not None]
    gets = [s.gets for s in arm.samples]
    n = len(arm.samples)
    out: dict[str, Any] = {
        "tasks": n,
        "downloaded": len(delays),
        "statuses": arm.statuses,
        "median_delay_s": statistics.median(delays) if delays else None,
        "p95_delay_s": percentile(delays, 95) if delays else None,
        "max_delay_s": max(delays) if delays else None,
        "tasks_over_1s": sum(d > TARGET_MEDIAN for d in delays),
        "gets_per_task": arm.total_gets / n if n else None,
        "total_gets": arm.total_gets,
        "gets_per_task_min_median_max": [min(gets), statistics.median(gets), max(gets)]
        if gets
        else None,
        "sandbox_downloads": arm.downloads,
        "wall_s": arm.wall,
    }
    if saved:
        out["median_saved_delay_s"] = statistics.median(saved)
    return out


# --- arms ------------------------------------------------------------------------------------


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        task_duration=args.duration,
        duration_jitter=args.jitter,
        estimate_error=args.estimate_error,
        seed=args.seed,
        strict_callbacks=False,
    )


def prompts(count: int) -> list[str]:
    return [f"poll latency benchmark, task {i}: a lighthouse at dusk" for i in range(count)]


def arm_timeout(args: argparse.Namespace) -> float:
    return float(args.duration * (1 + args.jitter) + 4 * args.interval + 60.0)


class _QuietServer(uvicorn.Server):
    """uvicorn embedded in our event loop, leaving Ctrl-C to the script."""

    def capture_signals(self) -> Any:
        return contextlib.nullcontext()


@asynccontextmanager
async def callback_receiver(
    handle: Callable[[str, dict[str, Any]], Awaitable[bool]],
) -> AsyncIterator[str]:
    """A loopback HTTP server for upstream callbacks; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    async def callback(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = {}
        found = await handle(request.path_params["token"], body if isinstance(body, dict) else {})
        return JSONResponse({"ok": found}, status_code=200 if found else 404)

    app = Starlette(routes=[Route(callback_path("{token}"), callback, methods=["POST"])])
    server = _QuietServer(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            for _ in range(1000):  # up to 10 s
                if server.started:
                    break
                await anyio.sleep(0.01)
            else:
                raise RuntimeError("the callback receiver did not start")
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()


async def run_engine_arm(args: argparse.Namespace, name: str, *, callbacks: bool) -> ArmResult:
    trace = Trace()
    holder: list[TaskEngine] = []

    async def on_callback(token: str, body: dict[str, Any]) -> bool:
        if isinstance(body.get("id"), str):
            trace.callbacks.setdefault(body["id"], time.monotonic())
        return await holder[0].handle_callback(token) if holder else False

    @asynccontextmanager
    async def maybe_receiver() -> AsyncIterator[str | None]:
        if not callbacks:
            yield None
            return
        async with callback_receiver(on_callback) as url:
            yield url

    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as home:
        async with Sandbox(sandbox_config(args)) as sb, maybe_receiver() as public_url:
            settings = make_settings(
                sb, Path(home), max_requests_per_second=args.rps, public_url=public_url
            )
            started = time.monotonic()
            async with open_engine(settings, poller=PollerConfig()) as engine:
                holder.append(engine)
                instrument_engine(engine, trace)
                task_ids: list[str] = []
                order: list[str] = []
                for prompt in prompts(args.tasks):
                    task = await engine.submit(TaskRequest(prompt=prompt))
                    if task.upstream_id is None:
                        raise RuntimeError(f"{name}: task {task.id} was not created: {task.error}")
                    task_ids.append(task.id)
                    order.append(task.upstream_id)
                statuses: dict[str, int] = {}

                async def wait_one(task_id: str) -> None:
                    final = await engine.wait(task_id, arm_timeout(args))
                    statuses[final.status] = statuses.get(final.status, 0) + 1

                async with anyio.create_task_group() as tg:
                    for task_id in task_ids:
                        tg.start_soon(wait_one, task_id)
            wall = time.monotonic() - started
            return collect(name, sb, order, trace, wall, statuses)


async def run_fixed_arm(args: argparse.Namespace, name: str) -> ArmResult:
    trace = Trace()
    async with (
        Sandbox(sandbox_config(args)) as sb,
        EvoLinkClient(
            api_key=sb.api_key,
            api_base=sb.base_url,
            files_base=sb.base_url,
            limiter=RateLimiter(args.rps),
        ) as client,
    ):
        instrument(client, trace)
        started = time.monotonic()
        submitted: list[tuple[str, float]] = []
        for prompt in prompts(args.tasks):
            body = {"model": DEFAULT_MODEL, "prompt": prompt, "size": "1:1", "n": 1}
            up = await client.create_task(body)
            submitted.append((up.id, time.monotonic()))
        statuses: dict[str, int] = {}

        async def poll_one(upstream_id: str, at: float) -> None:
            k = 1
            while True:
                # A fixed schedule from the submit time, so slow GETs do not make it drift.
                await anyio.sleep(max(0.0, at + k * args.interval - time.monotonic()))
                up = await client.get_task(upstream_id)
                status = upstream_status(up)
                if status == "completed":
                    for url in up.results:
                        await client.download(url, MemorySink())
                    break
                if status == "failed":
                    break
                k += 1
            statuses[status] = statuses.get(status, 0) + 1

        with anyio.fail_after(arm_timeout(args)):
            async with anyio.create_task_group() as tg:
                for upstream_id, at in submitted:
                    tg.start_soon(poll_one, upstream_id, at)
        wall = time.monotonic() - started
        return collect(name, sb, [u for u, _ in submitted], trace, wall, statuses)


# --- report ----------------------------------------------------------------------------------


def table(summaries: dict[str, dict[str, Any]], baseline: str) -> str:
    base_gets = summaries[baseline]["total_gets"]
    header = (
        f"{'arm':<10} {'tasks':>5} {'median delay s':>14} {'p95 delay s':>11} "
        f"{'GETs/task':>9} {'total GETs':>10} {'GETs vs ' + baseline:>16}"
    )
    lines = [header, "-" * len(header)]
    for name, s in summaries.items():
        ratio = s["total_gets"] / base_gets if base_gets else None
        lines.append(
            f"{name:<10} {s['tasks']:>5} {fmt(s['median_delay_s'], '.3f'):>14} "
            f"{fmt(s['p95_delay_s'], '.3f'):>11} {fmt(s['gets_per_task'], '.2f'):>9} "
            f"{s['total_gets']:>10} {fmt(ratio, '.2f'):>16}"
        )
    return "\n".join(lines)


async def run_all(args: argparse.Namespace) -> dict[str, ArmResult]:
    fixed = f"fixed-{args.interval:g}s"
    arms: dict[str, Callable[[], Awaitable[ArmResult]]] = {
        "ours": lambda: run_engine_arm(args, "ours", callbacks=False),
        fixed: lambda: run_fixed_arm(args, fixed),
    }
    if args.callbacks:
        arms["callbacks"] = lambda: run_engine_arm(args, "callbacks", callbacks=True)
    results: dict[str, ArmResult] = {}
    if args.sequential:
        for name, arm in arms.items():
            results[name] = await arm()
    else:

        async def run_one(name: str, arm: Callable[[], Awaitable[ArmResult]]) -> None:
            results[name] = await arm()

        async with anyio.create_task_group() as tg:
            for name, arm in arms.items():
                tg.start_soon(run_one, name, arm)
    return {name: results[name] for name in arms}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = parser("poll_latency", __doc__)
    p.add_argument("--tasks", type=int, default=40, help="tasks per arm (default 40)")
    p.add_argument("--duration", type=float, default=20.0, help="mean task seconds (default 20)")
    add_task_options(p)
    p.add_argument("--interval", type=float, default=4.0, help="baseline interval (default 4)")
    p.add_argument(
        "--rps",
        type=float,
        default=1000.0,
        help="client request-rate cap for every arm (default 1000, i.e. no throttling; "
        "the product's default is 5)",
    )
    p.add_argument("--no-callbacks", dest="callbacks", action="store_false", help="skip arm 3")
    p.add_argument(
        "--sequential", action="store_true", help="run the arms one after another, not together"
    )
    args = p.parse_args(argv)
    if args.tasks < 1 or args.duration <= 0 or args.interval <= 0:
        p.error("--tasks, --duration and --interval must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    mode = "sequentially" if args.sequential else "concurrently"
    print(
        f"{args.tasks} tasks per arm, duration {args.duration:g} s +-{args.jitter:.0%}, "
        f"estimates off by up to {args.estimate_error:.0%}, seed {args.seed}, arms run {mode}...",
        flush=True,
    )
    started = time.monotonic()
    results = anyio.run(run_all, args)
    elapsed = time.monotonic() - started

    names = list(results)
    baseline = names[1]
    durations = {name: [s.duration for s in arm.samples] for name, arm in results.items()}
    same = all(
        all(abs(a - b) < 1e-6 for a, b in zip(durations[names[0]], d, strict=True))
        for d in durations.values()
    )
    summaries = {name: summary(arm) for name, arm in results.items()}
    ours, base = summaries["ours"], summaries[baseline]
    checks = {
        "median_delay_le_1s": ours["median_delay_s"] is not None
        and ours["median_delay_s"] <= TARGET_MEDIAN,
        "gets_le_baseline": ours["total_gets"] <= base["total_gets"],
    }

    print()
    print(table(summaries, baseline))
    print()
    print(
        f"target (ours): median delay <= {TARGET_MEDIAN:g} s: "
        f"{verdict(checks['median_delay_le_1s'])}; "
        f"total GETs <= {baseline}: {verdict(checks['gets_le_baseline'])}"
    )
    for name, s in summaries.items():
        lo, mid, hi = s["gets_per_task_min_median_max"]
        extra = (
            f", median saved-to-disk delay {s['median_saved_delay_s']:.3f} s"
            if "median_saved_delay_s" in s
            else ""
        )
        print(
            f"  {name}: GETs per task min/median/max {lo}/{mid:g}/{hi}, "
            f"{s['tasks_over_1s']} tasks over 1 s, max delay {fmt(s['max_delay_s'], '.3f')} s, "
            f"statuses {s['statuses']}{extra}"
        )
    print(f"identical durations across arms: {same}; total run {elapsed:.1f} s")

    figures = {
        "config": {
            **task_options(args),
            "baseline_interval_s": args.interval,
            "rps_cap": args.rps,
            "arms_run": mode,
            "poller": asdict(PollerConfig()),
        },
        "delay_definition": "first result download finished (client side) minus the sandbox "
        "task's due_at, both on time.monotonic()",
        "identical_durations": same,
        "checks": checks,
        "summary": summaries,
        "tasks": {name: [asdict(s) for s in arm.samples] for name, arm in results.items()},
        "total_run_s": elapsed,
    }
    write_report(args.out, "poll_latency", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
