"""What every benchmark script shares: its command line, the report it writes and prints.

Scripts run from the project root as ``python -m bench.<name>``. Each writes one JSON report,
``bench/results/<name>.json`` unless ``--out`` says otherwise: the benchmark's name, when it
finished, the machine it ran on, then its own figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """CPU count (and the cores this process may use), CPU model, memory, Python, platform."""
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    info: dict[str, Any] = {
        "nproc": len(affinity) if affinity is not None else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.partition(":")[2].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()  # MemTotal: N kB
        info["mem_total_gib"] = round(int(first[1]) / 1024**2, 1)
    return info


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """The script's parser: described by its docstring's first paragraph, with ``--out``."""
    out = RESULTS_DIR / f"{name}.json"
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    p.add_argument("--out", type=Path, default=out, help=f"JSON output (default {out})")
    return p


def add_task_options(p: argparse.ArgumentParser, *, seed: int = 7) -> None:
    """``--jitter``, ``--estimate-error`` and ``--seed``: how the sandbox draws its tasks."""
    p.add_argument("--jitter", type=float, default=0.5, help="duration jitter (default 0.5)")
    p.add_argument("--estimate-error", type=float, default=0.3, help="estimate error (default 0.3)")
    p.add_argument("--seed", type=int, default=seed, help=f"sandbox seed (default {seed})")


def task_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sandbox's task knobs (``--tasks``, ``--duration`` and ``add_task_options``'), for a
    report's config."""
    return {
        "tasks": args.tasks,
        "duration_s": args.duration,
        "duration_jitter": args.jitter,
        "estimate_error": args.estimate_error,
        "seed": args.seed,
    }


def quiet_logging() -> None:
    """Warnings and errors only, one line each: the report is what the script prints."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def write_report(out: Path, name: str, figures: dict[str, Any], *, indent: int = 2) -> None:
    """Write ``figures`` to ``out`` after the name, finish time and machine; say where."""
    report = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **figures,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=indent, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


def fmt(value: float | None, spec: str) -> str:
    """``value`` in ``spec``, or "-" when there is none."""
    return "-" if value is None else format(value, spec)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def rows_table(rows: Sequence[tuple[str, object]]) -> str:
    """Label and value per line, the values aligned."""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
