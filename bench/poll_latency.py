"""Poll latency: our background poller against a fixed 4 s poll, on the sandbox over loopback.

Target (from the issue): for tasks of 5-120 s with estimates off by up to 30%, the median delay
from upstream completion to saved is at most 1 s, with no more task GETs than a fixed 4 s
interval would make, in every duration band.

Tasks come in duration bands (``--bands``, default 5-12, 12-30, 30-60 and 60-120 s, each drawn
uniformly; ``--tasks`` per band), submitted interleaved. Arms, all in one run, each against its
own in-process sandbox (same seed, tasks submitted one by one in the same order, so task i has
the same true duration and estimate in every arm):

* ``ours``: the real engine (``open_engine`` with the production ``PollerConfig()``) on a store
  that has learned the model's duration ratio: ``--warmup`` tasks of the first band run first on
  a separate sandbox, then the engine is closed and reopened on the same store (a restart).
* ``cold``: the same on a fresh store (nothing learned before its first finished task).
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
    fmt,
    parser,
    percentile,
    quiet_logging,
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
DEFAULT_BANDS = "5-12,12-30,30-60,60-120"


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
    band: str
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
    name: str,
    sb: Sandbox,
    order: list[str],
    trace: Trace,
    wall: float,
    statuses: dict[str, int],
    bands: list[str],
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
                band=bands[index],
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


def summary(arm: ArmResult, samples: list[TaskSample] | None = None) -> dict[str, Any]:
    """Figures of an arm, or of its ``samples`` in one band (GETs then from our own count)."""
    band = samples is not None
    samples = arm.samples if samples is None else samples
    delays = [s.delay for s in samples if s.delay is not None]
    saved = [s.saved_delay for s in samples if s.saved_delay is not None]
    gets = [s.gets for s in samples]
    n = len(samples)
    total_gets = sum(gets) if band else arm.total_gets
    out: dict[str, Any] = {
        "tasks": n,
        "downloaded": len(delays),
        "median_delay_s": statistics.median(delays) if delays else None,
        "p95_delay_s": percentile(delays, 95) if delays else None,
        "max_delay_s": max(delays) if delays else None,
        "tasks_over_1s": sum(d > TARGET_MEDIAN for d in delays),
        "gets_per_task": total_gets / n if n else None,
        "total_gets": total_gets,
        "gets_per_task_min_median_max": [min(gets), statistics.median(gets), max(gets)]
        if gets
        else None,
        "median_saved_delay_s": statistics.median(saved) if saved else None,
        "p95_saved_delay_s": percentile(saved, 95) if saved else None,
    }
    if not band:
        out |= {"statuses": arm.statuses, "sandbox_downloads": arm.downloads, "wall_s": arm.wall}
        out["bands"] = {
            name: summary(arm, [s for s in arm.samples if s.band == name])
            for name in dict.fromkeys(s.band for s in arm.samples)
        }
    return out


# --- arms ------------------------------------------------------------------------------------


def sandbox_config(args: argparse.Namespace, *, seed_offset: int = 0) -> SandboxConfig:
    return SandboxConfig(
        estimate_error=args.estimate_error,
        estimate_bias=args.estimate_bias,
        seed=args.seed + seed_offset,
        strict_callbacks=False,
    )


def parse_bands(text: str) -> list[tuple[float, float]]:
    bands = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        bands.append((float(low), float(high)))
    return bands


def band_name(band: tuple[float, float]) -> str:
    return f"{band[0]:g}-{band[1]:g} s"


def plan_tasks(args: argparse.Namespace, count: int | None = None) -> list[tuple[float, float]]:
    """The duration band of each task, in submit order: bands interleaved."""
    bands = parse_bands(args.bands)
    per_band = args.tasks if count is None else count
    return [band for _ in range(per_band) for band in bands]


def shape(sb: Sandbox, band: tuple[float, float]) -> None:
    """Make the sandbox's next task last a uniform draw from ``band``."""
    low, high = band
    sb.config.task_duration = (low + high) / 2
    sb.config.duration_jitter = (high - low) / (high + low)


def prompts(count: int) -> list[str]:
    return [f"poll latency benchmark, task {i}: a lighthouse at dusk" for i in range(count)]


def arm_timeout(args: argparse.Namespace) -> float:
    longest = max(high for _, high in parse_bands(args.bands))
    return float(longest * max(1.0, args.estimate_bias) + 4 * args.interval + 60.0)


async def warm_up(args: argparse.Namespace, home: Path) -> None:
    """Run ``--warmup`` tasks of the first band through an engine on ``home``, then close it:
    the store keeps what the poller learned, as after any restart."""
    if args.warmup <= 0:
        return
    band = parse_bands(args.bands)[0]
    async with Sandbox(sandbox_config(args, seed_offset=1000)) as sb:
        settings = make_settings(sb, home, max_requests_per_second=args.rps)
        async with open_engine(settings, poller=PollerConfig()) as engine:
            ids = []
            for prompt in prompts(args.warmup):
                shape(sb, band)
                ids.append((await engine.submit(TaskRequest(prompt=prompt))).id)
            async with anyio.create_task_group() as tg:
                for task_id in ids:
                    tg.start_soon(engine.wait, task_id, arm_timeout(args))


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


async def run_engine_arm(
    args: argparse.Namespace, name: str, *, callbacks: bool, warm: bool = False
) -> ArmResult:
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
        if warm:
            await warm_up(args, Path(home))
        bands = plan_tasks(args)
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
                for band, prompt in zip(bands, prompts(len(bands)), strict=True):
                    shape(sb, band)
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
            return collect(name, sb, order, trace, wall, statuses, [band_name(b) for b in bands])


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
        bands = plan_tasks(args)
        for band, prompt in zip(bands, prompts(len(bands)), strict=True):
            shape(sb, band)
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
        order = [u for u, _ in submitted]
        return collect(name, sb, order, trace, wall, statuses, [band_name(b) for b in bands])


# --- report ----------------------------------------------------------------------------------


def table(summaries: dict[str, dict[str, Any]], baseline: str) -> str:
    """Per arm and duration band: delays to download and to saved, GETs against the baseline."""
    header = (
        f"{'arm':<10} {'band':<10} {'tasks':>5} {'download s':>10} {'saved s':>8} "
        f"{'p95 saved':>9} {'GETs/task':>9} {'GETs':>6} {'vs ' + baseline:>13}"
    )
    lines = [header, "-" * len(header)]
    for name, arm in summaries.items():
        parts = [*arm["bands"].items(), ("all", arm)]
        for band, s in parts:
            base = summaries[baseline] if band == "all" else summaries[baseline]["bands"][band]
            ratio = s["total_gets"] / base["total_gets"] if base["total_gets"] else None
            lines.append(
                f"{name:<10} {band:<10} {s['tasks']:>5} {fmt(s['median_delay_s'], '.3f'):>10} "
                f"{fmt(s['median_saved_delay_s'], '.3f'):>8} "
                f"{fmt(s['p95_saved_delay_s'], '.3f'):>9} {fmt(s['gets_per_task'], '.2f'):>9} "
                f"{s['total_gets']:>6} {fmt(ratio, '.2f'):>13}"
            )
    return "\n".join(lines)


async def run_all(args: argparse.Namespace) -> dict[str, ArmResult]:
    fixed = f"fixed-{args.interval:g}s"
    arms: dict[str, Callable[[], Awaitable[ArmResult]]] = {
        "ours": lambda: run_engine_arm(args, "ours", callbacks=False, warm=True),
        fixed: lambda: run_fixed_arm(args, fixed),
    }
    if args.cold:
        arms["cold"] = lambda: run_engine_arm(args, "cold", callbacks=False)
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
    p.add_argument("--tasks", type=int, default=10, help="tasks per band and arm (default 10)")
    p.add_argument(
        "--bands",
        default=DEFAULT_BANDS,
        help=f"duration bands in seconds, LOW-HIGH comma-separated (default {DEFAULT_BANDS})",
    )
    p.add_argument("--estimate-error", type=float, default=0.3, help="estimate error (default 0.3)")
    p.add_argument(
        "--estimate-bias",
        type=float,
        default=1.0,
        help="the sandbox's estimates are this times the true duration, before the error "
        "(default 1)",
    )
    p.add_argument("--seed", type=int, default=7, help="sandbox seed (default 7)")
    p.add_argument(
        "--warmup", type=int, default=10, help="tasks the 'ours' arm learns from first (10)"
    )
    p.add_argument("--interval", type=float, default=4.0, help="baseline interval (default 4)")
    p.add_argument(
        "--rps",
        type=float,
        default=1000.0,
        help="client request-rate cap for every arm (default 1000, i.e. no throttling; "
        "the product's default is 5)",
    )
    p.add_argument("--no-cold", dest="cold", action="store_false", help="skip the cold arm")
    p.add_argument("--no-callbacks", dest="callbacks", action="store_false", help="skip that arm")
    p.add_argument(
        "--sequential", action="store_true", help="run the arms one after another, not together"
    )
    args = p.parse_args(argv)
    try:
        bands = parse_bands(args.bands)
    except ValueError:
        p.error("--bands: LOW-HIGH pairs in seconds, comma-separated")
    if args.tasks < 1 or args.interval <= 0 or any(not 0 < lo <= hi for lo, hi in bands):
        p.error("--tasks, --interval and every band must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    mode = "sequentially" if args.sequential else "concurrently"
    print(
        f"{args.tasks} tasks per band ({args.bands} s) per arm, estimates x{args.estimate_bias:g} "
        f"and off by up to {args.estimate_error:.0%}, seed {args.seed}, {args.warmup} warm-up "
        f"tasks, arms run {mode}...",
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
    checks: dict[str, bool] = {}
    for band, s in [*ours["bands"].items(), ("all", ours)]:
        base_band = base if band == "all" else base["bands"][band]
        median = s["median_saved_delay_s"]
        checks[f"{band}: median saved <= 1 s"] = median is not None and median <= TARGET_MEDIAN
        checks[f"{band}: GETs <= {baseline}"] = s["total_gets"] <= base_band["total_gets"]

    print()
    print(table(summaries, baseline))
    print()
    print("target (ours): " + "; ".join(f"{k} {verdict(v)}" for k, v in checks.items()))
    for name, s in summaries.items():
        lo, mid, hi = s["gets_per_task_min_median_max"]
        print(
            f"  {name}: GETs per task min/median/max {lo}/{mid:g}/{hi}, "
            f"{s['tasks_over_1s']} tasks over 1 s, max delay {fmt(s['max_delay_s'], '.3f')} s, "
            f"statuses {s['statuses']}"
        )
    print(f"identical durations across arms: {same}; total run {elapsed:.1f} s")

    figures = {
        "config": {
            "tasks_per_band": args.tasks,
            "bands_s": parse_bands(args.bands),
            "estimate_error": args.estimate_error,
            "estimate_bias": args.estimate_bias,
            "seed": args.seed,
            "warmup_tasks": args.warmup,
            "baseline_interval_s": args.interval,
            "rps_cap": args.rps,
            "arms_run": mode,
            "poller": asdict(PollerConfig()),
        },
        "delay_definition": "first result download finished (client side), or first image "
        "saved (engine arms), minus the sandbox task's due_at, both on time.monotonic()",
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
