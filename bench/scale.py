"""Scale: 200 tasks in flight in one process, under the product's request-rate cap.

Target (from the issue): 200 tasks in flight at once in one server process all end saved, with
peak memory and CPU per task reported, and the upstream request rate held under the cap
(``max_requests_per_second``, product default 5).

Method:

* The sandbox runs in a separate process (``multiprocessing`` spawn), so the measured process's
  RSS and CPU are only the engine's. An ASGI middleware wrapped around the sandbox app stamps
  every request it receives (``time.monotonic()``, the system-wide clock shared with this
  process on Linux) and hands the log back over a pipe at the end.
* Task durations are jittered (default 90 s +-50%). At the default cap, 200 creates alone take
  40 s, so tasks must last longer than that for all of them to be in flight at once; the peak
  number of tasks created and not yet terminal is measured, not assumed.
* The measured process opens the real engine (``open_engine`` with the production
  ``PollerConfig()``) and the product's default rate cap unless ``--rps`` says otherwise. It idles
  for ``--idle`` seconds (the baseline: RSS and CPU of an idle engine), then submits every task at
  once (mixed sizes, 1/2/4 images), as concurrent callers would; creates queue on the same limiter
  as the poller's GETs. It waits for every task to be terminal, then checks every saved file
  exists and decodes at the requested size.
* Memory: ``VmRSS`` from ``/proc/self/status`` sampled every 0.2 s by a thread, plus
  ``ru_maxrss`` (the process high-water mark, which also covers imports). Figures are reported
  against the idle-engine baseline: growth in MB and per task, and the RSS with every task open
  and nothing saved yet (the bookkeeping cost of a task, apart from saving images).
* CPU: user+system seconds of the whole process (all threads) from ``os.times()`` between the
  baseline and the last task turning terminal, per task and as a share of wall time.
* Rate: API requests (create, task GET, credits, uploads) as received by the sandbox, and as sent
  by our client (the moment the limiter let each request go). The maximum in any 1 s window
  (half-open) is compared with the cap. Result downloads are counted separately: they go to the
  upstream's CDN and deliberately do not pass the API limiter.
* Completion -> saved: from a task's true upstream completion (the sandbox's due time) to the
  task turning terminal on our side; at the cap, polls queue behind each other.
* Event-loop lag: a task sleeping 0.1 s in a loop records how late it wakes up.

Run: ``python -m bench.scale [--tasks N] [--duration S] [--rps R] [--quick]``; results go to
``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from tests.support.catalog import SIZES, size_pixels

from bench.common import (
    add_task_options,
    fmt,
    parser,
    percentile,
    quiet_logging,
    rows_table,
    task_options,
    verdict,
    write_report,
)
from imagegen_mcp.api.ratelimit import Priority
from imagegen_mcp.models import Task, TaskRequest
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.server.settings import Settings, load_settings
from imagegen_mcp.service.poller import PollerConfig

PRODUCT_RPS = float(Settings.model_fields["max_requests_per_second"].default)
COUNTS = (1, 1, 2, 4)  # images per task, cycled: 2 on average
CREDITS_PER_IMAGE = 2.5  # the sandbox's price
SAMPLE_EVERY = 0.2  # seconds between RSS/CPU samples
LAG_TICK = 0.1  # seconds the loop-lag probe sleeps
START_TIMEOUT = 60.0
JITTER_ALLOWANCE = 0.01  # seconds taken off the 1 s window for the tolerant rate count


# --- the sandbox process ---------------------------------------------------------------------


def classify(method: str, path: str) -> str:
    if path.startswith("/results/"):
        return "download"
    if path == "/v1/images/generations":
        return "create"
    if path.startswith("/v1/tasks/"):
        return "get"
    if path == "/v1/credits":
        return "credits"
    if path.startswith("/api/v1/files"):
        return "upload" if method == "POST" else "file_get"
    return "other"


class RequestLog:
    """ASGI middleware: ``(monotonic time, kind, status)`` of every HTTP request received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.entries: list[list[Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        entry: list[Any] = [time.monotonic(), classify(scope["method"], scope["path"]), None]
        self.entries.append(entry)

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry[2] = message["status"]
            await send(message)

        await self.app(scope, receive, send_status)


def sandbox_main(conn: Connection, config: dict[str, Any]) -> None:
    """Entry point of the sandbox process: serve until told to stop, then send the log back."""
    # Imported here so the measured process never loads the sandbox.
    from imagegen_mcp.sandbox import Sandbox, SandboxConfig

    log: list[RequestLog] = []

    class LoggedSandbox(Sandbox):
        def _prepare(self, sock: Any) -> Any:
            cfg = super()._prepare(sock)
            cfg.app = RequestLog(cfg.app)
            cfg.interface = "asgi3"
            log.append(cfg.app)
            return cfg

    async def main() -> None:
        sb = LoggedSandbox(SandboxConfig(**config))
        await sb.start()
        conn.send({"base_url": sb.base_url, "api_key": sb.api_key, "pid": os.getpid()})
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        await sb.stop()
        tasks = [
            {
                "id": t.id,
                "started_at": t.started_at,
                "duration": t.due_at - t.started_at,
                "estimate": t.estimated_time,
                "size": t.params.size,
                "n": t.params.n,
                "outcome": t.outcome,
            }
            for t in sb.tasks.values()
        ]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(
            {
                "requests": log[0].entries if log else [],
                "counters": asdict(sb.counters),
                "tasks": tasks,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "maxrss_kb": maxrss_kb(usage.ru_maxrss),
            }
        )

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s sandbox %(name)s: %(message)s")
    asyncio.run(main())


# --- process measurements --------------------------------------------------------------------


def maxrss_kb(ru_maxrss: int) -> int:
    return ru_maxrss // 1024 if sys.platform == "darwin" else ru_maxrss  # bytes there, KB here


def vmrss_kb() -> int | None:
    """Current resident set size of this process (Linux), else None."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_now_kb() -> int:
    """VmRSS where available, else the high-water mark (the best a portable API offers)."""
    now = vmrss_kb()
    return now if now is not None else maxrss_kb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system


class Sampler:
    """A thread sampling ``(seconds since t0, RSS KB, CPU s since cpu0, tasks in flight)``."""

    def __init__(self, t0: float, cpu0: float, in_flight: Any) -> None:
        self.t0, self.cpu0, self.in_flight = t0, cpu0, in_flight
        self.samples: list[tuple[float, int, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scale-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(
                (
                    round(time.monotonic() - self.t0, 3),
                    rss_now_kb(),
                    round(cpu_s() - self.cpu0, 3),
                    self.in_flight(),
                )
            )
            if self._stop.wait(SAMPLE_EVERY):
                return

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the measured run ------------------------------------------------------------------------


@dataclass
class TaskSample:
    index: int
    task_id: str
    size: str
    n: int
    submitted: float  # seconds since t0: submit called
    accepted: float | None  # upstream create answered
    terminal: float | None  # engine.wait returned a terminal task
    status: str
    upstream_id: str | None
    images_saved: int = 0
    images_ok: int = 0  # file exists, decodes completely, has the requested size
    problems: list[str] = field(default_factory=list)


@dataclass
class Measured:
    t0_monotonic: float
    rss_imports_kb: int
    rss_idle_kb: int
    maxrss_idle_kb: int
    rss_end_kb: int
    maxrss_end_kb: int
    cpu_idle_s: float  # CPU of the idle period before t0, for reference
    idle_s: float
    cpu_s: float
    wall_s: float
    samples: list[tuple[float, int, float, int]]
    lags: list[float]
    sends: list[float]  # seconds since t0: the limiter released an API request
    limiter_waited_s: float
    poller_gets: int
    tasks: list[TaskSample]


def requests_for(count: int) -> list[TaskRequest]:
    return [
        TaskRequest(
            prompt=f"scale benchmark, task {i}: a lighthouse at dusk",
            size=SIZES[i % len(SIZES)],
            n=COUNTS[i % len(COUNTS)],
        )
        for i in range(count)
    ]


def wait_timeout(args: argparse.Namespace) -> float:
    # Longest task + every create and a few GETs per task queued at the cap + slack.
    return float(args.duration * (1 + args.jitter) + args.tasks * 6 / args.rps + 300.0)


def verify(sample: TaskSample, task: Task) -> None:
    """Check every image of a finished task is on disk, decodes, and has the requested size."""
    from PIL import Image

    sample.images_saved = len(task.images)
    want = size_pixels(task.request.size or "1:1")
    for img in task.images:
        path = Path(img.path)
        if not path.is_file():
            sample.problems.append(f"image {img.index}: {path} missing")
            continue
        try:
            with Image.open(path) as im:
                im.load()
                got = im.size
        except Exception as exc:  # any decode failure is a finding
            sample.problems.append(f"image {img.index}: does not decode ({exc})")
            continue
        if got != want:
            sample.problems.append(f"image {img.index}: {got[0]}x{got[1]}, wanted {want}")
            continue
        sample.images_ok += 1
    if task.status == "completed" and len(task.images) != task.request.n:
        sample.problems.append(f"{len(task.images)} of {task.request.n} images saved")


async def measure(
    args: argparse.Namespace, base_url: str, api_key: str, rss_imports: int
) -> Measured:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as home:
        settings = load_settings(
            EVOLINK_API_KEY=api_key,
            api_base=base_url,
            files_base=base_url,
            home=Path(home),
            output_dir=Path(home) / "images",
            max_requests_per_second=args.rps,
            max_credits_per_day=None,
            public_url=None,
        )
        requests = requests_for(args.tasks)
        poller = PollerConfig(prioritize=not getattr(args, "fifo", False))
        async with open_engine(settings, poller=poller) as engine:
            # Baseline: an idle engine (store open, poller running, HTTP client ready).
            idle_cpu0 = cpu_s()
            await anyio.sleep(args.idle)
            rss_idle = rss_now_kb()
            maxrss_idle = maxrss_kb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            cpu_idle = cpu_s() - idle_cpu0

            limiter = engine.client.limiter
            acquire = limiter.acquire
            sends: list[float] = []
            samples: list[TaskSample] = []
            finals: dict[int, Task] = {}
            lags: list[float] = []
            open_count = [0]
            done = anyio.Event()

            t0 = time.monotonic()
            cpu0 = cpu_s()

            async def timed_acquire(priority: int = Priority.URGENT) -> None:
                await acquire(priority)
                sends.append(time.monotonic() - t0)

            limiter.acquire = timed_acquire  # type: ignore[method-assign]

            async def lag_probe() -> None:
                while not done.is_set():
                    before = time.monotonic()
                    await anyio.sleep(LAG_TICK)
                    lags.append(round(time.monotonic() - before - LAG_TICK, 4))

            async def run_one(index: int, request: TaskRequest) -> None:
                submitted = time.monotonic() - t0
                task = await engine.submit(request)
                accepted = time.monotonic() - t0 if task.upstream_id else None
                open_count[0] += 1
                try:
                    final = await engine.wait(task.id, wait_timeout(args))
                finally:
                    open_count[0] -= 1
                finals[index] = final
                samples.append(
                    TaskSample(
                        index=index,
                        task_id=task.id,
                        size=request.size or "1:1",
                        n=request.count,
                        submitted=round(submitted, 3),
                        accepted=None if accepted is None else round(accepted, 3),
                        terminal=round(time.monotonic() - t0, 3) if final.is_terminal else None,
                        status=final.status,
                        upstream_id=final.upstream_id,
                    )
                )

            with Sampler(t0, cpu0, lambda: open_count[0]) as sampler:
                async with anyio.create_task_group() as outer:
                    outer.start_soon(lag_probe)
                    async with anyio.create_task_group() as tg:
                        for index, request in enumerate(requests):
                            tg.start_soon(run_one, index, request)
                    wall = time.monotonic() - t0
                    cpu = cpu_s() - cpu0
                    done.set()
            rss_end = rss_now_kb()
            maxrss_end = maxrss_kb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            limiter.acquire = acquire  # type: ignore[method-assign]

            # Outside the measured window: check the files.
            samples.sort(key=lambda s: s.index)
            for s in samples:
                await anyio.to_thread.run_sync(verify, s, finals[s.index])
            return Measured(
                t0_monotonic=t0,
                rss_imports_kb=rss_imports,
                rss_idle_kb=rss_idle,
                maxrss_idle_kb=maxrss_idle,
                rss_end_kb=rss_end,
                maxrss_end_kb=maxrss_end,
                cpu_idle_s=cpu_idle,
                idle_s=args.idle,
                cpu_s=cpu,
                wall_s=wall,
                samples=sampler.samples,
                lags=lags,
                sends=sends,
                limiter_waited_s=limiter.waited,
                poller_gets=engine.poller.gets,
                tasks=samples,
            )


# --- analysis --------------------------------------------------------------------------------


def max_in_window(times: list[float], window: float) -> int:
    """Most events in any half-open interval ``[t, t + window)``."""
    ordered = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def min_gap(times: list[float]) -> float | None:
    ordered = sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    return min(gaps) if gaps else None


def tightest_span(times: list[float], k: int) -> float | None:
    """Shortest time covering ``k`` consecutive events (>= 1 s means never k in a 1 s window)."""
    ordered = sorted(times)
    spans = [ordered[i + k - 1] - ordered[i] for i in range(len(ordered) - k + 1)]
    return min(spans) if spans else None


def rate_stats(times: list[float], cap: float) -> dict[str, Any]:
    if not times:
        return {"requests": 0}
    span = max(times) - min(times)
    return {
        "requests": len(times),
        "first_s": round(min(times), 3),
        "last_s": round(max(times), 3),
        "mean_rate": len(times) / span if span > 0 else None,
        "max_in_1s": max_in_window(times, 1.0),
        # The limiter paces requests exactly 1/cap apart, so a wake-up a fraction of a millisecond
        # late puts cap + 1 requests in a 0.999 s span: also count with a jitter allowance.
        "max_in_1s_less_jitter": max_in_window(times, 1.0 - JITTER_ALLOWANCE),
        "max_in_5s_per_s": max_in_window(times, 5.0) / 5,
        "min_gap_s": min_gap(times),
        "tightest_span_of_cap_plus_1_s": tightest_span(times, int(cap) + 1),
        "cap": cap,
    }


def peak_open(tasks: list[TaskSample]) -> int:
    """Most tasks at once that upstream had accepted and we had not yet seen terminal."""
    events: list[tuple[float, int]] = []
    for s in tasks:
        if s.accepted is None:
            continue
        events.append((s.accepted, 1))
        events.append((s.terminal if s.terminal is not None else float("inf"), -1))
    best = now = 0
    for _, step in sorted(events):  # a close sorts before an open at the same instant
        now += step
        best = max(best, now)
    return best


def analyse(args: argparse.Namespace, m: Measured, sandbox: dict[str, Any]) -> dict[str, Any]:
    n = len(m.tasks)
    api_kinds = {"create", "get", "credits", "upload"}
    received = [(t - m.t0_monotonic, kind, status) for t, kind, status in sandbox["requests"]]
    api = [t for t, kind, _ in received if kind in api_kinds]
    downloads = [t for t, kind, _ in received if kind == "download"]
    by_kind: dict[str, int] = {}
    for _, kind, _ in received:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    statuses: dict[str, int] = {}
    for s in m.tasks:
        statuses[s.status] = statuses.get(s.status, 0) + 1
    expected = sum(s.n for s in m.tasks)
    ok = sum(s.images_ok for s in m.tasks)
    sampled_peak = max([kb for _, kb, _, _ in m.samples] + [m.rss_end_kb])
    # ru_maxrss also catches peaks between samples (e.g. several images decoding at once).
    peak_rss = max(sampled_peak, m.maxrss_end_kb)
    growth = peak_rss - m.rss_idle_kb
    durations = [t["duration"] for t in sandbox["tasks"]]
    # Upstream completion (sandbox due time) to terminal on our side, per task.
    due = {t["id"]: t["started_at"] + t["duration"] - m.t0_monotonic for t in sandbox["tasks"]}
    saved_delays = [
        s.terminal - due[s.upstream_id]
        for s in m.tasks
        if s.terminal is not None and s.upstream_id in due
    ]
    # Memory with every task open and nothing saved yet: the bookkeeping cost of a task.
    first_terminal = min((s.terminal for s in m.tasks if s.terminal is not None), default=None)
    open_rss = max(
        (kb for t, kb, _, _ in m.samples if first_terminal is None or t <= first_terminal),
        default=m.rss_idle_kb,
    )
    done_times = [s.terminal - s.accepted for s in m.tasks if s.terminal and s.accepted]
    return {
        "tasks": n,
        "statuses": statuses,
        "not_completed": n - statuses.get("completed", 0),
        "images_expected": expected,
        "images_saved": sum(s.images_saved for s in m.tasks),
        "images_ok": ok,
        "problems": {s.task_id: s.problems for s in m.tasks if s.problems},
        "peak_in_flight": peak_open(m.tasks),
        "peak_in_flight_sampled": max((f for *_, f in m.samples), default=0),
        "wall_s": m.wall_s,
        "last_create_accepted_s": max((s.accepted or 0.0) for s in m.tasks),
        "saved_delay_median_s": statistics.median(saved_delays) if saved_delays else None,
        "saved_delay_p95_s": percentile(saved_delays, 95) if saved_delays else None,
        "saved_delay_max_s": max(saved_delays) if saved_delays else None,
        "task_seconds_create_to_saved_median": statistics.median(done_times)
        if done_times
        else None,
        "upstream_durations_min_median_max": [
            min(durations),
            statistics.median(durations),
            max(durations),
        ]
        if durations
        else None,
        "rss_imports_mb": m.rss_imports_kb / 1024,
        "rss_idle_engine_mb": m.rss_idle_kb / 1024,
        "rss_peak_mb": peak_rss / 1024,
        "rss_peak_sampled_mb": sampled_peak / 1024,
        "rss_end_mb": m.rss_end_kb / 1024,
        "maxrss_mb": m.maxrss_end_kb / 1024,
        "maxrss_at_idle_mb": m.maxrss_idle_kb / 1024,
        "rss_growth_mb": growth / 1024,
        "rss_growth_kb_per_task": growth / n if n else None,
        "rss_before_first_save_mb": open_rss / 1024,
        "rss_open_kb_per_task": (open_rss - m.rss_idle_kb) / n if n else None,
        "rss_peak_over_idle": peak_rss / m.rss_idle_kb if m.rss_idle_kb else None,
        "cpu_s": m.cpu_s,
        "cpu_s_per_task": m.cpu_s / n if n else None,
        "cpu_s_per_image": m.cpu_s / expected if expected else None,
        "cpu_share_of_wall": m.cpu_s / m.wall_s if m.wall_s else None,
        "cpu_idle_s_per_s": m.cpu_idle_s / m.idle_s if m.idle_s else None,
        "api_rate_sandbox": rate_stats(api, args.rps),
        "api_rate_client": rate_stats(m.sends, args.rps),
        "downloads": rate_stats(downloads, args.rps),
        "requests_by_kind": by_kind,
        "http_errors": sum(1 for _, _, st in received if st is None or st >= 400),
        "sandbox_counters": sandbox["counters"],
        "poller_gets": m.poller_gets,
        "gets_per_task": by_kind.get("get", 0) / n if n else None,
        "limiter_waited_s": m.limiter_waited_s,
        "loop_lag_p50_s": statistics.median(m.lags) if m.lags else None,
        "loop_lag_p99_s": percentile(m.lags, 99) if m.lags else None,
        "loop_lag_max_s": max(m.lags) if m.lags else None,
        "sandbox_cpu_s": sandbox["cpu_s"],
        "sandbox_maxrss_mb": sandbox["maxrss_kb"] / 1024,
    }


# --- report ----------------------------------------------------------------------------------


def table(s: dict[str, Any]) -> str:
    api, cli, dl = s["api_rate_sandbox"], s["api_rate_client"], s["downloads"]
    cap = api["cap"]
    rows = [
        ("tasks completed", f"{s['statuses'].get('completed', 0)}/{s['tasks']}  {s['statuses']}"),
        ("images saved & decoded", f"{s['images_ok']}/{s['images_expected']}"),
        (
            "peak tasks in flight",
            f"{s['peak_in_flight']} (last create accepted at {s['last_create_accepted_s']:.1f} s)",
        ),
        (
            "wall",
            f"{s['wall_s']:.1f} s (median create->saved "
            f"{fmt(s['task_seconds_create_to_saved_median'], '.1f')} s)",
        ),
        (
            "completion -> saved",
            f"median {fmt(s['saved_delay_median_s'], '.1f')} s, p95 "
            f"{fmt(s['saved_delay_p95_s'], '.1f')} s, max {fmt(s['saved_delay_max_s'], '.1f')} s",
        ),
        (
            "RSS idle engine",
            f"{s['rss_idle_engine_mb']:.1f} MB (after imports {s['rss_imports_mb']:.1f} MB)",
        ),
        (
            "RSS peak",
            f"{s['rss_peak_mb']:.1f} MB = {s['rss_peak_over_idle']:.2f}x idle, "
            f"+{s['rss_growth_mb']:.1f} MB, {s['rss_growth_kb_per_task']:.0f} KB/task",
        ),
        (
            "  all open, none saved yet",
            f"{s['rss_before_first_save_mb']:.1f} MB, "
            f"{fmt(s['rss_open_kb_per_task'], '.0f')} KB/task over idle",
        ),
        (
            "  sampled VmRSS / ru_maxrss",
            f"peak {s['rss_peak_sampled_mb']:.1f} / {s['maxrss_mb']:.1f} MB, "
            f"at the end {s['rss_end_mb']:.1f} MB",
        ),
        (
            "CPU user+sys",
            f"{s['cpu_s']:.2f} s = {s['cpu_s_per_task'] * 1000:.1f} ms/task, "
            f"{s['cpu_share_of_wall']:.1%} of wall (idle engine "
            f"{s['cpu_idle_s_per_s']:.1%})",
        ),
        ("requests received", f"{s['requests_by_kind']}, HTTP errors {s['http_errors']}"),
        (
            "max API req in 1 s",
            f"{api['max_in_1s']} received, {cli['max_in_1s']} sent (cap {cap:g}); "
            f"in {1 - JITTER_ALLOWANCE:g} s: {api['max_in_1s_less_jitter']} / "
            f"{cli['max_in_1s_less_jitter']}",
        ),
        (
            "API rate mean / 5 s max",
            f"{fmt(api['mean_rate'], '.2f')} / {api['max_in_5s_per_s']:.1f} req/s; "
            f"min gap {fmt(api['min_gap_s'], '.3f')} s received, "
            f"{fmt(cli['min_gap_s'], '.3f')} s sent",
        ),
        (
            f"tightest {int(cap) + 1} API requests",
            f"{fmt(api['tightest_span_of_cap_plus_1_s'], '.4f')} s received, "
            f"{fmt(cli['tightest_span_of_cap_plus_1_s'], '.4f')} s sent",
        ),
        ("downloads (not capped)", f"{dl['requests']}, max {dl.get('max_in_1s', 0)} in 1 s"),
        (
            "limiter queueing",
            f"{s['limiter_waited_s']:.0f} s total, "
            f"{s['limiter_waited_s'] / max(api['requests'], 1):.2f} s/request",
        ),
        (
            "event-loop lag",
            f"p50 {fmt(s['loop_lag_p50_s'], '.4f')} s, p99 "
            f"{fmt(s['loop_lag_p99_s'], '.4f')} s, max {fmt(s['loop_lag_max_s'], '.3f')} s",
        ),
        (
            "sandbox process",
            f"{s['sandbox_cpu_s']:.1f} s CPU, {s['sandbox_maxrss_mb']:.0f} MB (not counted above)",
        ),
    ]
    return rows_table(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = parser("scale", __doc__)
    p.add_argument("--tasks", type=int, help="tasks in flight (default 200; --quick 20)")
    p.add_argument(
        "--duration", type=float, help="mean upstream task seconds (default 90; --quick 10)"
    )
    add_task_options(p)
    p.add_argument(
        "--rps",
        type=float,
        default=PRODUCT_RPS,
        help=f"client request-rate cap (default: the product default, {PRODUCT_RPS:g})",
    )
    p.add_argument("--idle", type=float, default=2.0, help="idle-engine baseline seconds (2)")
    p.add_argument("--quick", action="store_true", help="a small fast run: 20 tasks of ~10 s")
    p.add_argument(
        "--fifo",
        action="store_true",
        help="every request first come, first served at the cap (the poller's priorities off)",
    )
    args = p.parse_args(argv)
    if args.tasks is None:
        args.tasks = 20 if args.quick else 200
    if args.duration is None:
        args.duration = 10.0 if args.quick else 90.0
    if args.tasks < 1 or args.duration <= 0 or args.rps <= 0 or not 0 <= args.jitter < 1:
        p.error("--tasks, --duration and --rps must be positive, --jitter in [0, 1)")
    return args


def start_sandbox(args: argparse.Namespace) -> tuple[Any, Connection, dict[str, Any]]:
    config = {
        "task_duration": args.duration,
        "duration_jitter": args.jitter,
        "estimate_error": args.estimate_error,
        "seed": args.seed,
        "credits": args.tasks * max(COUNTS) * CREDITS_PER_IMAGE + 100,
        "credits_per_image": CREDITS_PER_IMAGE,
        "strict_callbacks": False,
    }
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=sandbox_main, args=(theirs, config), name="scale-sandbox")
    proc.start()
    if not ours.poll(START_TIMEOUT):
        proc.terminate()
        raise RuntimeError("the sandbox process did not start")
    return proc, ours, ours.recv() | {"config": config}


def main(argv: list[str] | None = None) -> int:
    rss_imports = rss_now_kb()
    args = parse_args(argv)
    quiet_logging()
    cap_note = (
        "the product default" if args.rps == PRODUCT_RPS else f"product default {PRODUCT_RPS:g}"
    )
    print(
        f"{args.tasks} tasks, upstream duration {args.duration:g} s +-{args.jitter:.0%}, "
        f"rate cap {args.rps:g} req/s ({cap_note}), seed {args.seed}...",
        flush=True,
    )
    creates_take = args.tasks / args.rps
    if creates_take >= args.duration * (1 - args.jitter):
        print(
            f"note: the creates alone take ~{creates_take:.0f} s at the cap, longer than the "
            f"shortest task: not every task can be in flight at once.",
            flush=True,
        )
    proc, conn, hello = start_sandbox(args)
    try:
        measured = anyio.run(measure, args, hello["base_url"], hello["api_key"], rss_imports)
        conn.send("stop")
        if not conn.poll(START_TIMEOUT):
            raise RuntimeError("the sandbox process did not report")
        sandbox = conn.recv()
        proc.join(START_TIMEOUT)
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    s = analyse(args, measured, sandbox)
    api = s["api_rate_sandbox"]
    checks = {
        "all_completed": s["not_completed"] == 0,
        "all_images_saved_and_decoded": s["images_ok"] == s["images_expected"],
        "all_in_flight_at_once": s["peak_in_flight"] == args.tasks,
        # Our limiter, as released: within a 10 ms allowance for timer wake-up jitter.
        "api_sent_max_1s_le_cap": s["api_rate_client"]["max_in_1s_less_jitter"] <= args.rps,
        # What the upstream saw, strictly (transport and server scheduling jitter included).
        "api_received_max_1s_le_cap": api["max_in_1s"] <= args.rps,
    }
    print()
    print(table(s))
    print()
    print("checks: " + ", ".join(f"{k} {verdict(v)}" for k, v in checks.items()))
    if s["problems"]:
        for task_id, problems in list(s["problems"].items())[:10]:
            print(f"  {task_id}: {'; '.join(problems)}")

    t0 = measured.t0_monotonic
    figures = {
        "config": {
            **task_options(args),
            "rps_cap": args.rps,
            "rps_is_product_default": args.rps == PRODUCT_RPS,
            "product_default_rps": PRODUCT_RPS,
            "idle_baseline_s": args.idle,
            "images_per_task_cycle": list(COUNTS),
            "sizes_cycle": list(SIZES),
            "poller": asdict(PollerConfig(prioritize=not args.fifo)),
            "sandbox": hello["config"],
            "quick": args.quick,
        },
        "definitions": {
            "t": "seconds since the first submit (time.monotonic(), shared by both processes)",
            "rss": "VmRSS of the measured process; growth = sampled peak - idle-engine baseline",
            "cpu": "os.times() user+system of the measured process, first submit to last task "
            "terminal",
            "api_requests": "create, task GET, credits and upload requests (rate-capped); result "
            "downloads are not",
            "max_in_1s": "most requests in any half-open 1 s interval",
            "in_flight": "created upstream and not yet terminal on our side",
        },
        "checks": checks,
        "summary": s,
        "samples": {
            "fields": ["t", "rss_kb", "cpu_s", "tasks_open"],
            "rss_cpu": measured.samples,
            "requests_received": [
                [round(t - t0, 4), kind, status] for t, kind, status in sandbox["requests"]
            ],
            "api_sent_t": [round(t, 4) for t in measured.sends],
            "loop_lag_s": measured.lags,
        },
        "tasks": [asdict(t) for t in measured.tasks],
        "sandbox_tasks": [
            t | {"started_at": round(t["started_at"] - t0, 3)} for t in sandbox["tasks"]
        ],
    }
    write_report(args.out, "scale", figures, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
