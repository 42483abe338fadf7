"""Soak: tasks under injected faults while the stdio server is SIGKILLed at random moments.

The sandbox runs in a thread of this process and outlives every server; agents call
``generate_image`` then ``get_task`` until their task ends, repeating their last call on the
next server after each kill. At the end: nothing lost, nothing duplicated, no create sent twice,
nothing left open (``tests/support/soak/`` holds the harness and says what each check means).

Run: ``python -m bench.soak [--tasks 100] [--kills 8]``; results go to
``bench/results/soak.json``. Exits 1 on any problem.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import anyio
from tests.support.soak.check import SoakReport
from tests.support.soak.config import SoakConfig
from tests.support.soak.run import run_soak

from bench.common import parser, rows_table, write_report


def table(rep: SoakReport) -> str:
    return rows_table(
        [
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
    )


def main() -> None:
    p = parser("soak", __doc__)
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
        kill_after=(a.kill_after[0], a.kill_after[1]),
        duration=a.duration,
        concurrency=a.concurrency,
        rps=a.rps,
        seed=a.seed,
    )
    workdir = Path(tempfile.mkdtemp(prefix="imagegen-soak-"))
    rep = anyio.run(run_soak, cfg, workdir)
    print(table(rep))
    for problem in rep.problems[:20]:
        print("PROBLEM:", problem)
    write_report(a.out, "soak", asdict(rep))
    if a.keep:
        print(f"work directory {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if rep.ok else 1)


if __name__ == "__main__":
    main()
