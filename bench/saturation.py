"""Saturation: completion -> saved when requests queue at the rate cap, priorities against FIFO.

Target (from the issue): 40 tasks of 10-30 s submitted at once at a cap of 5 requests/s, median
completion -> saved at most 2 s, with never more than the cap in any 1 s window.

Arms, one after the other in one run, each with the machinery of ``bench/scale.py`` (the
sandbox in its own process with the same seed, so the i-th create gets the same duration in
both; the real engine; every task submitted at once; requests timestamped by the sandbox as
received and by our limiter as released):

* ``priorities``: the production ``PollerConfig()``: creates first, then polls of tasks that
  may have finished, then early progress polls, which are skipped while more requests wait
  than one second of the cap releases.
* ``fifo``: ``PollerConfig(prioritize=False)``: every request waits its turn, first come, first
  served (the behaviour before priorities).

Completion -> saved = the task turning terminal on our side (every image saved) - its true
upstream completion (the sandbox's due time).

Run: ``python -m bench.saturation [--tasks N] [--duration S] [--rps R]``; results go to
``bench/results/saturation.json``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from typing import Any

import anyio

from bench import scale
from bench.common import (
    add_task_options,
    fmt,
    parser,
    quiet_logging,
    task_options,
    verdict,
    write_report,
)

TARGET_MEDIAN = 2.0  # seconds, from the issue


def run_arm(args: argparse.Namespace, fifo: bool) -> dict[str, Any]:
    arm_args = copy.copy(args)
    arm_args.fifo = fifo
    rss_imports = scale.rss_now_kb()
    proc, conn, hello = scale.start_sandbox(arm_args)
    try:
        measured = anyio.run(
            scale.measure, arm_args, hello["base_url"], hello["api_key"], rss_imports
        )
        conn.send("stop")
        if not conn.poll(scale.START_TIMEOUT):
            raise RuntimeError("the sandbox process did not report")
        sandbox = conn.recv()
        proc.join(scale.START_TIMEOUT)
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    summary = scale.analyse(arm_args, measured, sandbox)
    durations = [t["duration"] for t in sandbox["tasks"]]
    return {"summary": summary, "durations": durations, "tasks": [vars(t) for t in measured.tasks]}


def row(name: str, s: dict[str, Any]) -> str:
    api, sent = s["api_rate_sandbox"], s["api_rate_client"]
    return (
        f"{name:<11} {s['statuses'].get('completed', 0):>4}/{s['tasks']:<4} "
        f"{fmt(s['saved_delay_median_s'], '.2f'):>8} {fmt(s['saved_delay_p95_s'], '.2f'):>7} "
        f"{fmt(s['saved_delay_max_s'], '.2f'):>7} {fmt(s['gets_per_task'], '.2f'):>9} "
        f"{api['requests']:>8} {api['max_in_1s']:>4}/{sent['max_in_1s']:<4} "
        f"{s['limiter_waited_s'] / max(api['requests'], 1):>8.2f} {s['wall_s']:>7.1f}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = parser("saturation", __doc__)
    p.add_argument("--tasks", type=int, default=40, help="tasks per arm (default 40)")
    p.add_argument("--duration", type=float, default=20.0, help="mean task seconds (default 20)")
    add_task_options(p)
    p.add_argument("--rps", type=float, default=5.0, help="request-rate cap (default 5)")
    p.add_argument("--idle", type=float, default=0.5, help="idle seconds before submitting")
    args = p.parse_args(argv)
    if args.tasks < 1 or args.duration <= 0 or args.rps <= 0 or not 0 <= args.jitter < 1:
        p.error("--tasks, --duration and --rps must be positive, --jitter in [0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    print(
        f"{args.tasks} tasks per arm submitted at once, {args.duration:g} s +-{args.jitter:.0%}, "
        f"estimates off by up to {args.estimate_error:.0%}, cap {args.rps:g} req/s, "
        f"seed {args.seed}; arms run one after the other...",
        flush=True,
    )
    started = time.monotonic()
    arms = {"priorities": run_arm(args, fifo=False), "fifo": run_arm(args, fifo=True)}
    elapsed = time.monotonic() - started
    same = arms["priorities"]["durations"] == arms["fifo"]["durations"]
    ours, base = arms["priorities"]["summary"], arms["fifo"]["summary"]
    checks = {
        "all_completed": all(a["summary"]["not_completed"] == 0 for a in arms.values()),
        "median_saved_delay_le_2s": ours["saved_delay_median_s"] is not None
        and ours["saved_delay_median_s"] <= TARGET_MEDIAN,
        # What our limiter released, with a 10 ms allowance for timer wake-up jitter (as in
        # bench/scale.py). What the sandbox received is reported, not checked: arrivals bunch
        # up on a busy 2-core machine (see BENCHMARKS.md, section 4).
        "api_sent_max_1s_le_cap": all(
            a["summary"]["api_rate_client"]["max_in_1s_less_jitter"] <= args.rps
            for a in arms.values()
        ),
    }
    header = (
        f"{'arm':<11} {'done':>9} {'median s':>8} {'p95 s':>7} {'max s':>7} {'GETs/task':>9} "
        f"{'API reqs':>8} {'max 1 s':>9} {'queue s/r':>8} {'wall s':>7}"
    )
    print()
    print("completion -> saved (s), API requests received, max in any 1 s (received/sent)")
    print(header)
    print("-" * len(header))
    for name, arm in arms.items():
        print(row(name, arm["summary"]))
    print()
    ratio = (
        base["saved_delay_median_s"] / ours["saved_delay_median_s"]
        if ours["saved_delay_median_s"]
        else None
    )
    print(
        f"median completion -> saved: {fmt(ours['saved_delay_median_s'], '.2f')} s with "
        f"priorities, {fmt(base['saved_delay_median_s'], '.2f')} s FIFO ({fmt(ratio, '.1f')}x); "
        f"identical durations across arms: {same}; total run {elapsed:.0f} s"
    )
    print("checks: " + ", ".join(f"{k} {verdict(v)}" for k, v in checks.items()))
    durations = arms["priorities"]["durations"]
    figures = {
        "config": {**task_options(args), "rps_cap": args.rps, "arms_run": "sequentially"},
        "definitions": {
            "saved_delay": "task terminal on our side (every image saved) - sandbox due time",
            "max_in_1s": "most API requests in any half-open 1 s interval",
        },
        "identical_durations": same,
        "durations_min_median_max": [min(durations), statistics.median(durations), max(durations)],
        "checks": checks,
        "summary": {name: arm["summary"] for name, arm in arms.items()},
        "tasks": {name: arm["tasks"] for name, arm in arms.items()},
        "total_run_s": elapsed,
    }
    write_report(args.out, "saturation", figures, indent=1)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
