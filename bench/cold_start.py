"""Cold start: from spawning the server to its ``tools/list`` answer over stdio, vs a bare server.

Target (from the issue): the median cold start of ``imagegen-mcp`` (stdio) is at most 1.2 times
that of a bare ``MCPServer`` from the MCP SDK with one trivial tool, measured in the same run.
Heavy imports (Pillow, the sandbox, the HTTP transport) stay off the start-up path.

Arms, run alternately (ours, bare, ours, bare, ...) after discarded warm-up pairs:

* ``ours``: the ``imagegen-mcp`` console script next to this interpreter (``--module`` runs
  ``python -m imagegen_mcp`` instead), serving stdio. Environment: a dummy key, a temp
  ``IMAGEGEN_HOME`` (shared by all runs, so after the warm-up the state database exists, as on a
  host restarting the server; ``--fresh-home`` gives each run a new one), and ``IMAGEGEN_API_BASE``
  / ``IMAGEGEN_FILES_BASE`` pointing at a loopback port this script listens on but never serves:
  any connection the server opens during the runs is counted and reported (there should be none).
* ``bare``: ``python bare_server.py``, a file written to a temp dir holding ``MCPServer("bare")``
  with one ``echo`` tool, run with ``mcp.run("stdio")``.

Both arms get the same handshake, written here on raw pipes (no client library, so no client
overhead in either arm): the ``initialize`` request (protocol 2025-11-25, the version hosts use
today), the ``notifications/initialized`` notification, then ``tools/list``; all three are
written at once, the way a host does. A run's time is from just before ``Popen`` to the moment
the ``tools/list`` response line has been read; the time to the ``initialize`` response is
recorded too. Then stdin is closed and the process is waited for (not timed).

Afterwards each arm runs once more under ``python -X importtime`` with the same handshake, to list
every module imported up to the ``tools/list`` answer: the report shows which of a watch list
(Pillow, the sandbox, uvicorn, starlette, sqlite3, ...) each arm loaded and the modules only ours
loaded, with their self import times (inflated by ``-X importtime`` itself).

Run: ``python -m bench.cold_start [--pairs N] [--warmup N]``; results go to
``bench/results/cold_start.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from bench.common import parser, percentile, verdict, write_report

TARGET_RATIO = 1.2  # ours / bare, medians, from the issue
PROTOCOL_VERSION = "2025-11-25"
DUMMY_KEY = "sk-evo-sandbox"

BARE_SERVER = '''\
"""A bare MCP server with one trivial tool: the cold-start baseline."""

from mcp.server import MCPServer

mcp = MCPServer("bare")


@mcp.tool()
async def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    mcp.run("stdio")
'''

# Modules worth knowing about on the start-up path (a prefix matches its submodules).
WATCH = (
    "PIL",
    "imagegen_mcp.sandbox",
    "imagegen_mcp.server.http",
    "imagegen_mcp.imaging",
    "imagegen_mcp.service.masks",
    "uvicorn",
    "starlette",
    "sse_starlette",
    "sqlite3",
    "httpx2",
    "stamina",
    "platformdirs",
    "pydantic_settings",
    "numpy",
)


# --- the handshake ---------------------------------------------------------------------------


def handshake_messages() -> bytes:
    messages: list[dict[str, Any]] = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "cold-start-bench", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


class LineReader:
    """Newline-delimited reads from a pipe with a deadline (the server might hang or die)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = stream.fileno()
        self.buf = b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)

    def readline(self, deadline: float) -> bytes:
        while b"\n" not in self.buf:
            left = deadline - time.perf_counter()
            if left <= 0 or not self.sel.select(left):
                raise TimeoutError("no answer from the server in time")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError("the server closed stdout")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def close(self) -> None:
        self.sel.close()


@dataclass
class Run:
    arm: str
    pair: int  # -1 for warm-up runs
    total_s: float  # spawn -> tools/list response read
    initialize_s: float  # spawn -> initialize response read
    tools: int


def run_once(cmd: list[str], env: dict[str, str], *, timeout: float) -> tuple[float, float, int]:
    """Spawn ``cmd``, do the handshake, return (initialize s, tools/list s, tool count)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        reader = LineReader(proc.stdout)
        deadline = started + timeout
        try:
            proc.stdin.write(handshake_messages())
            proc.stdin.flush()
            answers: dict[int, dict[str, Any]] = {}
            init_s = 0.0
            while 2 not in answers:
                msg = json.loads(reader.readline(deadline))
                if msg.get("id") in (1, 2):
                    answers[msg["id"]] = msg
                    if msg["id"] == 1:
                        init_s = time.perf_counter() - started
            total_s = time.perf_counter() - started
        except (TimeoutError, EOFError, ValueError) as exc:
            proc.kill()
            proc.wait()
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(cmd)}: {exc}\n--- stderr ---\n{tail}") from None
        finally:
            reader.close()
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        for msg in answers.values():
            if "error" in msg:
                raise RuntimeError(f"{' '.join(cmd)}: error answer {msg['error']}")
        return init_s, total_s, len(answers[2]["result"]["tools"])


def imported_modules(cmd: list[str], env: dict[str, str], *, timeout: float) -> dict[str, int]:
    """Every module ``cmd`` imports up to the tools/list answer: name -> self import time (us).

    ``cmd`` starts with the interpreter; ``-X importtime`` is inserted after it.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [cmd[0], "-X", "importtime", *cmd[1:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        reader = LineReader(proc.stdout)
        deadline = time.perf_counter() + timeout
        try:
            proc.stdin.write(handshake_messages())
            proc.stdin.flush()
            while json.loads(reader.readline(deadline)).get("id") != 2:
                pass
        finally:
            reader.close()
            proc.kill()  # stop here: imports made while shutting down are not start-up
            proc.wait()
            proc.stdin.close()
            proc.stdout.close()
        err.seek(0)
        modules: dict[str, int] = {}
        for line in err.read().decode(errors="replace").splitlines():
            # "import time: <self us> | <cumulative us> | <indented name>"
            if not line.startswith("import time:"):
                continue
            parts = line[len("import time:") :].split("|")
            if len(parts) != 3 or not parts[0].strip().isdigit():
                continue  # the header line
            modules[parts[2].strip()] = int(parts[0])
        return modules


# --- environment -----------------------------------------------------------------------------


@contextlib.contextmanager
def tripwire() -> Iterator[tuple[str, socket.socket]]:
    """A loopback port that listens but never answers; yields (base URL, socket).

    Connections complete in the kernel's backlog without ``accept()``, so ``contacts`` can
    count them afterwards.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", sock
    finally:
        sock.close()


def contacts(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def ours_command(args: argparse.Namespace) -> list[str]:
    script = Path(sys.executable).with_name("imagegen-mcp")
    if args.module or not script.exists():
        return [sys.executable, "-m", "imagegen_mcp"]
    # The console script is a Python file: run it with this interpreter so that -X importtime
    # can be inserted, exactly as its shebang would.
    return [sys.executable, str(script)]


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "EVOLINK_"))}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # Both arms run on cached bytecode, as installed packages do: the SDK's was written when it
    # was installed, ours is compiled once below. With PYTHONDONTWRITEBYTECODE set (some dev
    # machines set it) and an editable install, ours would otherwise be compiled from source
    # on every start while the SDK's is not - a handicap no user has.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def compile_package() -> None:
    """Write our package's bytecode cache, as ``pip install`` does for an installed package."""
    import compileall

    import imagegen_mcp

    compileall.compile_dir(Path(imagegen_mcp.__file__).parent, quiet=1)


def ours_env(home: Path, api_base: str) -> dict[str, str]:
    env = base_env()
    env.update(
        EVOLINK_API_KEY=DUMMY_KEY,
        IMAGEGEN_HOME=str(home),
        IMAGEGEN_API_BASE=api_base,
        IMAGEGEN_FILES_BASE=api_base,
    )
    return env


# --- statistics and report -------------------------------------------------------------------


def summary(runs: list[Run]) -> dict[str, Any]:
    totals = [r.total_s for r in runs]
    inits = [r.initialize_s for r in runs]
    return {
        "runs": len(runs),
        "median_s": statistics.median(totals),
        "p95_s": percentile(totals, 95),
        "min_s": min(totals),
        "max_s": max(totals),
        "median_initialize_s": statistics.median(inits),
        "tools": runs[0].tools,
    }


def watched(modules: dict[str, int]) -> dict[str, bool]:
    return {w: any(m == w or m.startswith(w + ".") for m in modules) for w in WATCH}


def top_level(names: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        root = name.split(".")[0]
        counts[root] = counts.get(root, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def table(summaries: dict[str, dict[str, Any]]) -> str:
    base = summaries["bare"]["median_s"]
    header = (
        f"{'arm':<6} {'runs':>4} {'median ms':>9} {'p95 ms':>7} {'min ms':>7} {'max ms':>7} "
        f"{'init ms':>7} {'tools':>5} {'vs bare':>7}"
    )
    lines = [header, "-" * len(header)]
    for name, s in summaries.items():
        lines.append(
            f"{name:<6} {s['runs']:>4} {s['median_s'] * 1e3:>9.1f} {s['p95_s'] * 1e3:>7.1f} "
            f"{s['min_s'] * 1e3:>7.1f} {s['max_s'] * 1e3:>7.1f} "
            f"{s['median_initialize_s'] * 1e3:>7.1f} {s['tools']:>5} "
            f"{s['median_s'] / base:>7.2f}"
        )
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = parser("cold_start", __doc__)
    p.add_argument("--pairs", type=int, default=15, help="measured ours/bare pairs (default 15)")
    p.add_argument("--warmup", type=int, default=2, help="discarded warm-up pairs (default 2)")
    p.add_argument(
        "--module",
        action="store_true",
        help="run ours as 'python -m imagegen_mcp' instead of the imagegen-mcp console script",
    )
    p.add_argument(
        "--fresh-home", action="store_true", help="a new IMAGEGEN_HOME (no database) per run"
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per run (default 30)")
    p.add_argument(
        "--no-imports", dest="imports", action="store_false", help="skip the import report"
    )
    args = p.parse_args(argv)
    if args.pairs < 1 or args.warmup < 0:
        p.error("--pairs must be positive and --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ours_cmd = ours_command(args)
    compile_package()
    with (
        tempfile.TemporaryDirectory(prefix="bench-cold-start-") as tmp,
        tripwire() as (api_base, wire),
    ):
        root = Path(tmp)
        bare_file = root / "bare_server.py"
        bare_file.write_text(BARE_SERVER)
        bare_cmd = [sys.executable, str(bare_file)]
        shared_home = root / "home"

        def env_for(arm: str, run: int) -> dict[str, str]:
            if arm == "bare":
                return base_env()
            home = root / f"home-{run}" if args.fresh_home else shared_home
            return ours_env(home, api_base)

        print(
            f"{args.pairs} pairs after {args.warmup} warm-up pairs, ours: {' '.join(ours_cmd)}"
            f"{' (fresh home per run)' if args.fresh_home else ''}...",
            flush=True,
        )
        runs: list[Run] = []
        count = 0
        for pair in range(-args.warmup, args.pairs):
            for arm, cmd in (("ours", ours_cmd), ("bare", bare_cmd)):
                count += 1
                init_s, total_s, tools = run_once(cmd, env_for(arm, count), timeout=args.timeout)
                runs.append(Run(arm, max(pair, -1), total_s, init_s, tools))
        measured = [r for r in runs if r.pair >= 0]
        by_arm = {arm: [r for r in measured if r.arm == arm] for arm in ("ours", "bare")}
        summaries = {arm: summary(rs) for arm, rs in by_arm.items()}
        ratio = summaries["ours"]["median_s"] / summaries["bare"]["median_s"]
        pair_ratios = [
            o.total_s / b.total_s for o, b in zip(by_arm["ours"], by_arm["bare"], strict=True)
        ]

        imports: dict[str, Any] | None = None
        if args.imports:
            ours_mods = imported_modules(ours_cmd, env_for("ours", count + 1), timeout=args.timeout)
            bare_mods = imported_modules(bare_cmd, env_for("bare", 0), timeout=args.timeout)
            extra = {m: us for m, us in ours_mods.items() if m not in bare_mods}
            imports = {
                "ours_modules": len(ours_mods),
                "bare_modules": len(bare_mods),
                "ours_watch": watched(ours_mods),
                "bare_watch": watched(bare_mods),
                "ours_only": dict(sorted(extra.items(), key=lambda kv: -kv[1])),
                "ours_only_by_package": top_level(set(extra)),
                "ours_only_self_us": sum(extra.values()),
            }
        network_contacts = contacts(wire)
        fresh_homes = [p for p in root.glob("home-*") if p.is_dir()]
        for p in fresh_homes:
            shutil.rmtree(p, ignore_errors=True)

    passed = ratio <= TARGET_RATIO
    print()
    print(table(summaries))
    print()
    print(
        f"ratio of medians ours/bare: {ratio:.3f} (per-pair ratios: median "
        f"{statistics.median(pair_ratios):.3f}, min {min(pair_ratios):.3f}, "
        f"max {max(pair_ratios):.3f}); target <= {TARGET_RATIO:g}: "
        f"{verdict(passed)}"
    )
    print(f"connections to IMAGEGEN_API_BASE during all runs: {network_contacts}")
    if imports is not None:
        print(
            f"modules imported up to tools/list: ours {imports['ours_modules']}, "
            f"bare {imports['bare_modules']}; only ours: {len(imports['ours_only'])} "
            f"({imports['ours_only_self_us'] / 1e3:.1f} ms self time under -X importtime)"
        )
        loaded = [w for w, hit in imports["ours_watch"].items() if hit]
        not_loaded = [w for w, hit in imports["ours_watch"].items() if not hit]
        also_bare = [w for w in loaded if imports["bare_watch"][w]]
        print(f"  watch list loaded by ours: {', '.join(loaded) or '-'}")
        print(f"    of which the bare server loads too: {', '.join(also_bare) or '-'}")
        print(f"  watch list not loaded by ours: {', '.join(not_loaded) or '-'}")
        packages = ", ".join(f"{k} {v}" for k, v in imports["ours_only_by_package"].items())
        print(f"  only ours, by package (modules): {packages}")
        slowest = list(imports["ours_only"].items())[:8]
        print(
            "  slowest only-ours imports (self ms): "
            + ", ".join(f"{m} {us / 1e3:.1f}" for m, us in slowest)
        )

    figures = {
        "config": {
            "pairs": args.pairs,
            "warmup_pairs": args.warmup,
            "order": "ours, bare, ours, bare, ... (warm-up pairs first, discarded)",
            "ours_command": ours_cmd,
            "bare_server": BARE_SERVER,
            "fresh_home": args.fresh_home,
            "protocol_version": PROTOCOL_VERSION,
            "timeout_s": args.timeout,
        },
        "time_definition": "perf_counter from just before Popen to the tools/list response line "
        "read from stdout; initialize/initialized/tools/list are written at once on spawn",
        "checks": {"ratio_le_1_2": passed, "no_network_contact": network_contacts == 0},
        "ratio_of_medians": ratio,
        "pair_ratios": pair_ratios,
        "summary": summaries,
        "network_contacts": network_contacts,
        "imports": imports,
        "runs": [asdict(r) for r in runs],
    }
    write_report(args.out, "cold_start", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
