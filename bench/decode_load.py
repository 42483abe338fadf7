"""Decode load: large input images against another session's latency, and against memory.

Target (from the issue): decoding caller-supplied images neither stalls other sessions nor
grows memory without bound. (a) While one session sends four concurrent 7000x7000 data URIs,
another session's ``list_tasks`` keeps its latency; (b) six concurrent 49-megapixel references
raise the server's peak RSS by a bounded amount.

Method:

* The sandbox runs as its own process (``python -m imagegen_mcp sandbox``): it decodes every
  upload too, and that must not count against the server.
* The server is the real ``python -m imagegen_mcp serve --transport http`` on loopback, one fresh
  process per part, so that RSS and its high-water mark are the server's alone. ``--src`` (this
  checkout's ``src`` by default) goes first on its ``PYTHONPATH``; ``--baseline REF`` adds an
  arm that runs the same parts against ``git archive REF src`` in the same run.
* The images: seeded 7000x7000 PNGs (a gradient crossed by lines: about 0.45 MB each, so the
  data URIs fit the 4,000,000-character argument cap of older code; a full decode takes about
  0.5 s and holds 196 MB of pixels).
* (a) A second MCP session (its own event loop, in a thread of this script) calls
  ``list_tasks`` every ``--interval`` seconds throughout. First ``--idle`` seconds without load
  (the same-run baseline), then the first session sends ``--uris`` concurrent ``generate_image``
  calls (``wait_seconds`` 0), each with one of the images as a data URI. Latencies of calls that
  started while those were unanswered are "under load".
* (b) After one small warm-up call (Pillow and the upload path loaded), the server's ``VmRSS``
  is read as idle, then ``--files`` concurrent ``generate_image`` calls each reference one image
  by path; ``VmRSS`` is sampled every 20 ms and ``VmHWM`` read at the end. Reported: peak over
  idle.

Run: ``python -m bench.decode_load [--baseline 40a8d9d]``; results go to
``bench/results/decode_load.json``.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.common import fmt, parser, percentile, quiet_logging, rows_table, write_report
from imagegen_mcp.sandbox import SANDBOX_API_KEY

ROOT = Path(__file__).resolve().parent.parent
SIDE = 7000


def make_images(folder: Path, count: int) -> list[Path]:
    """``count`` distinct SIDE x SIDE PNGs: a gradient crossed by lines at a per-image offset."""
    from PIL import Image, ImageDraw

    paths = []
    for i in range(count):
        img = Image.linear_gradient("L").resize((SIDE, SIDE)).convert("RGB")
        draw = ImageDraw.Draw(img)
        for y in range(i * 37, SIDE, 350):
            draw.line((0, y, SIDE, SIDE - y), fill=(200, y % 255, 40 + 20 * i), width=9)
        path = folder / f"big{i}.png"
        img.save(path, format="PNG")
        paths.append(path)
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)  # polling a port that has no other signal
    raise RuntimeError(f"nothing listening on port {port} after {timeout} s")


@contextmanager
def process(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    """Run ``args`` until the block ends; yields its pid once ``port`` listens."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_listening(port, proc)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} for pid {pid}")


@dataclass
class Prober:
    """A second session calling list_tasks on its own event loop, in a thread."""

    url: str
    interval: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (start, latency)
    errors: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        anyio.run(self._main)

    async def _main(self) -> None:
        async with Client(streamable_http_client(self.url)) as client:
            await client.call_tool("list_tasks", {})
            self.ready.set()
            while not self.stop.is_set():
                start = time.perf_counter()
                result = await client.call_tool("list_tasks", {})
                self.samples.append((start, time.perf_counter() - start))
                self.errors += int(result.is_error)
                await anyio.sleep(self.interval)


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"calls": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "calls": len(values),
        "median_ms": statistics.median(values) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "max_ms": max(values) * 1000,
    }


async def concurrent_refs(url: str, refs: list[str]) -> dict[str, Any]:
    """Each ref in its own concurrent generate_image call on one session."""
    durations: list[float] = []
    errors: list[str] = []
    async with Client(streamable_http_client(url)) as client:

        async def one(ref: str) -> None:
            start = time.perf_counter()
            result = await client.call_tool(
                "generate_image",
                {"prompt": "decode load", "reference_images": [ref], "wait_seconds": 0},
            )
            durations.append(time.perf_counter() - start)
            if result.is_error:
                errors.append(str(result.content[0])[:200])

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for ref in refs:
                tg.start_soon(one, ref)
        end = time.perf_counter()
    return {"start": start, "end": end, "durations": durations, "errors": errors}


class Arm:
    def __init__(self, name: str, src: Path, sandbox_url: str, work: Path) -> None:
        self.name, self.src, self.sandbox_url, self.work = name, src, sandbox_url, work

    @contextmanager
    def server(self, part: str) -> Iterator[tuple[str, int]]:
        port = free_port()
        home = self.work / f"{self.name}-{part}"
        env = {
            **os.environ,
            "PYTHONPATH": str(self.src),
            "EVOLINK_API_KEY": SANDBOX_API_KEY,
            "IMAGEGEN_API_BASE": self.sandbox_url,
            "IMAGEGEN_FILES_BASE": self.sandbox_url,
            "IMAGEGEN_HOME": str(home),
            "IMAGEGEN_ALLOWED_DIRS": str(self.work),
            "IMAGEGEN_MAX_REQUESTS_PER_SECOND": "1000",
        }
        args = [sys.executable, "-m", "imagegen_mcp", "serve", "--transport", "http"]
        args += ["--port", str(port)]
        with process(args, env, port, self.work / f"{self.name}-{part}.log") as pid:
            yield f"http://127.0.0.1:{port}/mcp", pid

    async def latency(self, images: list[Path], args: argparse.Namespace) -> dict[str, Any]:
        uris = [
            "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()
            for p in images[: args.uris]
        ]
        with self.server("latency") as (url, _pid):
            prober = Prober(url, args.interval)
            thread = threading.Thread(target=prober.run, daemon=True)
            thread.start()
            if not prober.ready.wait(60):
                raise RuntimeError("the probing session did not start")
            await anyio.sleep(args.idle)  # the same-run baseline: list_tasks with nothing else
            idle_end = time.perf_counter()
            load = await concurrent_refs(url, uris)
            await anyio.sleep(args.interval * 5)  # a few calls after the load, to see it end
            prober.stop.set()
            await anyio.to_thread.run_sync(thread.join, 30.0)
        idle = [lat for start, lat in prober.samples if start < idle_end]
        under = [lat for start, lat in prober.samples if load["start"] <= start < load["end"]]
        return {
            "uris": len(uris),
            "uri_chars": [len(u) for u in uris],
            "idle": summary(idle),
            "under_load": summary(under),
            "load_wall_s": load["end"] - load["start"],
            "load_call_s": sorted(load["durations"]),
            "load_errors": load["errors"],
            "probe_errors": prober.errors,
            "samples": prober.samples,
        }

    async def memory(self, images: list[Path], args: argparse.Namespace) -> dict[str, Any]:
        with self.server("memory") as (url, pid):
            warm = self.work / "warm.png"
            await concurrent_refs(url, [str(warm)])
            await anyio.sleep(1.0)  # let the warm-up task's poll and save finish
            idle_kb = status_kb(pid, "VmRSS")
            hwm_before = status_kb(pid, "VmHWM")
            samples: list[int] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(status_kb(pid, "VmRSS"))
                    done.wait(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            load = await concurrent_refs(url, [str(p) for p in images[: args.files]])
            done.set()
            sampler.join()
            hwm_kb = status_kb(pid, "VmHWM")
        return {
            "files": args.files,
            "idle_rss_mb": idle_kb / 1024,
            "hwm_before_mb": hwm_before / 1024,
            "peak_rss_mb": hwm_kb / 1024,
            "peak_sampled_mb": max(samples) / 1024 if samples else None,
            "growth_mb": (hwm_kb - idle_kb) / 1024,
            "load_wall_s": load["end"] - load["start"],
            "load_call_s": sorted(load["durations"]),
            "load_errors": load["errors"],
        }


def baseline_src(ref: str, work: Path) -> Path:
    """``src`` of the git commit ``ref``, unpacked under ``work``."""
    target = work / f"src-{ref}"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"],
        check=True,
        capture_output=True,
    ).stdout
    tar_path = work / f"{ref}.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="decode-load-") as tmp:
        work = Path(tmp)
        print(f"making {max(args.uris, args.files)} {SIDE}x{SIDE} images ...", flush=True)
        images = make_images(work, max(args.uris, args.files))
        Image.new("RGB", (64, 64), (10, 20, 30)).save(work / "warm.png")
        arms = [("this code", args.src)]
        if args.baseline:
            arms.insert(0, (f"baseline {args.baseline}", baseline_src(args.baseline, work)))
        port = free_port()
        sandbox = [sys.executable, "-m", "imagegen_mcp", "sandbox", "--port", str(port)]
        sandbox += ["--task-seconds", "1"]
        env = {**os.environ, "PYTHONPATH": str(args.src)}
        results: list[dict[str, Any]] = []
        with process(sandbox, env, port, work / "sandbox.log"):
            for name, src in arms:
                arm = Arm(name.split()[0], src, f"http://127.0.0.1:{port}", work)
                print(f"{name}: list_tasks under {args.uris} data URIs ...", flush=True)
                latency = await arm.latency(images, args)
                print(f"{name}: RSS under {args.files} references ...", flush=True)
                memory = await arm.memory(images, args)
                results.append({"arm": name, "src": str(src), "latency": latency, "memory": memory})
        return {
            "config": {
                "side": SIDE,
                "image_bytes": [p.stat().st_size for p in images],
                "uris": args.uris,
                "files": args.files,
                "idle_s": args.idle,
                "interval_s": args.interval,
                "baseline": args.baseline,
            },
            "arms": results,
        }


def table(report: dict[str, Any]) -> str:
    rows: list[tuple[str, object]] = []
    for arm in report["arms"]:
        lat, mem = arm["latency"], arm["memory"]
        idle, under = lat["idle"], lat["under_load"]

        def trio(s: dict[str, Any]) -> str:
            parts = (fmt(s["median_ms"], ".0f"), fmt(s["p95_ms"], ".0f"), fmt(s["max_ms"], ".0f"))
            return " / ".join(parts) + f" ms ({s['calls']} calls)"

        rows += [
            (f"[{arm['arm']}] list_tasks idle, median / p95 / max", trio(idle)),
            (f"[{arm['arm']}] list_tasks under load", trio(under)),
            (
                f"[{arm['arm']}] {lat['uris']} data URI calls",
                f"{lat['load_wall_s']:.2f} s wall, {len(lat['load_errors'])} errors",
            ),
            (
                f"[{arm['arm']}] RSS idle -> peak ({mem['files']} refs)",
                f"{mem['idle_rss_mb']:.0f} -> {mem['peak_rss_mb']:.0f} MB "
                f"(+{mem['growth_mb']:.0f} MB), {mem['load_wall_s']:.2f} s wall, "
                f"{len(mem['load_errors'])} errors",
            ),
        ]
    return rows_table(rows)


def main() -> None:
    p = parser("decode_load", __doc__)
    p.add_argument("--src", type=Path, default=ROOT / "src", help="the code measured")
    p.add_argument("--baseline", help="also measure `git archive REF src` in the same run")
    p.add_argument("--uris", type=int, default=4, help="concurrent data URIs (default 4)")
    p.add_argument("--files", type=int, default=6, help="concurrent references (default 6)")
    p.add_argument("--idle", type=float, default=3.0, help="seconds of baseline (default 3)")
    p.add_argument("--interval", type=float, default=0.02, help="between list_tasks calls")
    args = p.parse_args()
    quiet_logging()
    report = anyio.run(run, args)
    print(table(report))
    write_report(args.out, "decode_load", report)


if __name__ == "__main__":
    main()
