"""Fuzzed tool calls: does every call, however wrong, get a clear answer without a leaked key?

The full run of what ``tests/tools/test_fuzz.py`` runs short: first the corpus (every
hand-written hostile value once), then ``--calls`` hypothesis-made calls, each checked for every
property in ``tests/support/fuzz/properties.py``. Failures are recorded, not raised, so nothing
is shrunk; the script exits 1 if any property failed.

Run: ``python -m bench.fuzz_tools [--calls N] [--seed S]``; results go to
``bench/results/fuzz_tools.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import stamina
from hypothesis import HealthCheck, Phase, given, seed, settings
from tests.support.fuzz.calls import CallRecord, CallSpec
from tests.support.fuzz.harness import PortalRunner, run_in_portal
from tests.support.fuzz.properties import (
    MAX_ERROR_CHARS,
    PROPERTIES,
    StderrTee,
    capture_logs,
)

from bench.common import parser, verdict, write_report

# --- summary --------------------------------------------------------------------------------


def normalize_error(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = re.sub(r"ig-[0-9a-f]{12}", "ig-<id>", first)
    first = re.sub(r"\S{40,}", "<long>", first)
    return first[:160]


def summarize(records: list[CallRecord], run_failures: dict[str, str | None]) -> dict[str, Any]:
    groups: dict[str, Counter[str]] = {}
    for r in records:
        groups.setdefault(r.group, Counter())[r.outcome] += 1
    failures: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for r in records:
        for f in r.failures:
            failures[f.split(":", 1)[0]] += 1
        if r.failures and len(examples) < 30:
            examples.append(asdict(r))
    outcomes = Counter(r.outcome for r in records)
    errors = Counter(normalize_error(r.error) for r in records if r.error)
    return {
        "calls": len(records),
        "outcomes": dict(outcomes),
        "per_group": {g: dict(c) for g, c in sorted(groups.items())},
        "per_category": {
            cat: dict(Counter(r.outcome for r in records if r.category == cat))
            for cat in sorted({r.category for r in records})
        },
        "property_failures": {p: failures.get(p, 0) for p in PROPERTIES},
        "run_property_failures": {k: v for k, v in run_failures.items()},
        "failure_examples": examples,
        "error_messages": [{"count": n, "text": t} for t, n in errors.most_common(60)],
        "seconds_total_in_calls": round(sum(r.seconds for r in records), 3),
        "slowest_call_s": round(max((r.seconds for r in records), default=0.0), 3),
    }


def table(summary: dict[str, Any]) -> str:
    cols = ("ok", "is_error", "protocol_error", "exception", "timeout")
    lines = [f"{'target':<36} {'calls':>6} " + " ".join(f"{c:>14}" for c in cols)]
    totals: Counter[str] = Counter()
    for group, counts in summary["per_group"].items():
        n = sum(counts.values())
        totals.update(counts)
        lines.append(f"{group:<36} {n:>6} " + " ".join(f"{counts.get(c, 0):>14}" for c in cols))
    lines.append(
        f"{'total':<36} {sum(totals.values()):>6} "
        + " ".join(f"{totals.get(c, 0):>14}" for c in cols)
    )
    lines.append("")
    lines.append("property failures (must all be 0):")
    for name, n in summary["property_failures"].items():
        lines.append(f"  {name:<22} {n}")
    for name, problem in summary["run_property_failures"].items():
        lines.append(
            f"  {name:<22} {0 if problem is None else 1}{'' if problem is None else '  ' + problem}"
        )
    return "\n".join(lines)


def report_failure(record: CallRecord) -> None:
    if record.failures:
        # A fuzzed input may hold lone surrogates, which a UTF-8 terminal cannot print.
        line = f"  FAIL #{record.index} {record.spec}\n    {record.failures}"
        print(line.encode("utf-8", "backslashreplace").decode("utf-8"), flush=True)


def fuzz(runner: PortalRunner, calls: int, seed_: int, *, corpus: bool = True) -> int:
    """The corpus, then ``calls`` hypothesis-made calls; failures are recorded, not raised
    (so nothing is shrunk). Returns how many calls the corpus made."""
    harness = runner.harness
    if corpus:
        for spec in harness.corpus():
            report_failure(runner.call(spec))
        print(f"  corpus: {len(harness.records)} calls", flush=True)
    done = len(harness.records)
    target = done + calls
    round_ = 0
    while len(harness.records) < target:
        todo = target - len(harness.records)

        @seed(seed_ + round_)
        @settings(
            max_examples=todo,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(spec=harness.specs)
        def one_call(spec: CallSpec) -> None:
            if len(harness.records) >= target:
                return
            report_failure(runner.call(spec))
            if (len(harness.records) - done) % 100 == 0:
                print(f"  {len(harness.records) - done} fuzzed calls...", flush=True)

        one_call()
        round_ += 1
    return done


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = parser("fuzz_tools", __doc__)
    p.add_argument("--calls", type=int, default=600, help="hypothesis-made calls (default 600)")
    p.add_argument(
        "--no-corpus",
        dest="corpus",
        action="store_false",
        help="skip the hand-written corpus (about 200 calls) run first",
    )
    p.add_argument("--seed", type=int, default=1, help="hypothesis and sandbox seed (default 1)")
    p.add_argument(
        "--task-duration", type=float, default=0.1, help="sandbox task seconds (default 0.1)"
    )
    p.add_argument(
        "--max-wait", type=float, default=2.0, help="largest 'valid' wait_seconds (default 2)"
    )
    args = p.parse_args(argv)
    if args.calls < 1 or args.task_duration <= 0 or args.max_wait < 0:
        p.error("--calls and --task-duration must be positive, --max-wait >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"{args.calls} fuzzed calls, seed {args.seed}, sandbox tasks {args.task_duration:g} s, "
        f"waits up to {args.max_wait:g} s...",
        flush=True,
    )
    tee = StderrTee(sys.stderr)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="fuzz-tools-") as tmp,
        stamina.set_testing(True, attempts=4, cap=True),  # retries without backoff sleeps
        capture_logs() as logs,
        contextlib.redirect_stderr(tee),
    ):
        root = Path(tmp)
        with run_in_portal(
            root,
            task_duration=args.task_duration,
            max_wait=args.max_wait,
            seed=args.seed,
        ) as runner:
            corpus_calls = fuzz(runner, args.calls, args.seed, corpus=args.corpus)
            run_failures = runner.final_checks()
            records = runner.harness.records
            alive_calls = runner.harness.alive_calls
            sandbox = {
                "creates": runner.harness.sb.counters.creates,
                "create_requests": runner.harness.sb.counters.create_requests,
                "uploads": runner.harness.sb.counters.uploads,
                "task_gets": runner.harness.sb.counters.task_gets,
            }
    wall = time.monotonic() - started
    run_failures["log_no_key"] = f"{len(logs.leaks)} log lines hold the key" if logs.leaks else None
    run_failures["stderr_no_key"] = (
        f"{len(tee.leaks)} stderr writes hold the key" if tee.leaks else None
    )
    summary = summarize(records, run_failures)
    print()
    print(table(summary))
    outcomes = summary["outcomes"]
    print(
        f"\n{summary['calls']} calls (+{alive_calls} list_tasks liveness checks) in {wall:.1f} s; "
        f"ok {outcomes.get('ok', 0)}, is_error {outcomes.get('is_error', 0)}, "
        f"protocol errors {outcomes.get('protocol_error', 0)}; sandbox creates "
        f"{sandbox['creates']}; {logs.records} log records scanned, {tee.chars} stderr chars"
    )
    failed = sum(summary["property_failures"].values()) + sum(
        problem is not None for problem in run_failures.values()
    )
    figures = {
        "config": {
            "fuzzed_calls": args.calls,
            "corpus_calls": corpus_calls,
            "seed": args.seed,
            "task_duration_s": args.task_duration,
            "max_wait_s": args.max_wait,
            "max_error_chars": MAX_ERROR_CHARS,
        },
        "wall_s": round(wall, 2),
        "liveness_calls": alive_calls,
        "sandbox": sandbox,
        "log": {"records": logs.records, "chars": logs.chars, "levels": dict(logs.levels)},
        "stderr_chars": tee.chars,
        "passed": failed == 0,
        **summary,
        "log_leaks": logs.leaks[:10],
        "logged_errors": logs.errors,
        "stderr_leaks": tee.leaks[:10],
    }
    write_report(args.out, "fuzz_tools", figures, indent=1)
    print(verdict(failed == 0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
