"""The soak's final accounting, from the store, the output folder and the sandbox's records."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from imagegen_mcp.sandbox import Sandbox
from tests.support.soak.config import OPEN, TERMINAL, Request, SoakConfig


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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(
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
