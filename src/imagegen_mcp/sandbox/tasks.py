"""One emulated task: its timeline, its lazily computed status, and its JSON shapes.

Status is a function of the sandbox clock rather than something a background loop updates, so
``Sandbox.advance`` moves every task at once and tests never wait on wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

SandboxTaskStatus = Literal["pending", "processing", "completed", "failed"]

_TASK_OBJECT = "image.generation.task"


class Clock:
    """Monotonic time plus an offset that only ``advance`` moves."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """Unix time as the sandbox sees it (advanced along with ``now``)."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds


@dataclass(frozen=True)
class TaskParams:
    """A create request that passed validation."""

    model: str
    prompt: str
    size: str
    n: int
    image_urls: tuple[str, ...] = ()
    mask_url: str | None = None
    callback_url: str | None = None


@dataclass(eq=False)
class TaskRecord:
    """A task's fixed timeline plus what settling it produced."""

    id: str
    params: TaskParams
    created: int  # unix seconds, as the upstream reports it
    started_at: float  # sandbox clock
    pending_until: float
    due_at: float
    estimated_time: int
    credits_reserved: float
    token: str  # makes result URLs unguessable
    planned_failure: tuple[str, str] | None
    clock: Clock = field(repr=False)
    outcome: Literal["completed", "failed"] | None = None
    error: dict[str, str] | None = None
    images: list[bytes] = field(default_factory=list, repr=False)
    callback_attempts: int = 0
    callback_delivered: bool = False
    lock: anyio.Lock = field(default_factory=anyio.Lock, repr=False)

    @property
    def is_due(self) -> bool:
        return self.clock.now() >= self.due_at

    @property
    def status(self) -> SandboxTaskStatus:
        """What a GET would report now.

        A due task with reference images still reads "processing" until it is settled (by a GET,
        a result download or its callback), because fetching references may still fail it.
        """
        if self.outcome is not None:
            return self.outcome
        now = self.clock.now()
        if now < self.pending_until:
            return "pending"
        if now < self.due_at:
            return "processing"
        if self.planned_failure is not None:
            return "failed"
        return "processing" if self.params.image_urls else "completed"

    @property
    def progress(self) -> int:
        status = self.status
        if status == "completed":
            return 100
        if status != "processing":
            return 0
        span = max(self.due_at - self.started_at, 1e-9)
        fraction = (self.clock.now() - self.started_at) / span
        return max(1, min(99, int(fraction * 100)))

    def result_path(self, index: int) -> str:
        return f"/results/{self.id}/{self.token}/{index}.png"


def create_body(task: TaskRecord) -> dict[str, Any]:
    """The documented answer to a successful create: always "pending" at progress 0."""
    return {
        "created": task.created,
        "id": task.id,
        "model": task.params.model,
        "object": _TASK_OBJECT,
        "progress": 0,
        "status": "pending",
        "task_info": {"can_cancel": True, "estimated_time": task.estimated_time},
        "type": "image",
        "usage": {
            "billing_rule": "per_call",
            "credits_reserved": task.credits_reserved,
            "user_group": "default",
        },
    }


def task_detail(task: TaskRecord, base_url: str) -> dict[str, Any]:
    """The task-detail JSON served by GET /v1/tasks/{id} and POSTed to callbacks."""
    status = task.status
    terminal = status in ("completed", "failed")
    task_info: dict[str, Any] = {"can_cancel": not terminal}
    if not terminal:
        task_info["estimated_time"] = task.estimated_time
    body: dict[str, Any] = {
        "created": task.created,
        "id": task.id,
        "model": task.params.model,
        "object": _TASK_OBJECT,
        "progress": task.progress,
        "status": status,
        "task_info": task_info,
        "type": "image",
    }
    if status == "completed":
        body["results"] = [base_url + task.result_path(i) for i in range(task.params.n)]
    elif status == "failed":
        code, message = task.planned_failure or ("unknown_error", "task failed")
        body["error"] = task.error or {"code": code, "message": message, "type": "task_error"}
    return body
