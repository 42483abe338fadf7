"""One emulated task: its timeline, its lazily computed status, and its JSON shapes.

Status is a function of the sandbox clock rather than something a background loop updates, so
``Sandbox.advance`` moves every task at once and tests never wait on wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from imagegen_mcp.catalog.vocabulary import ImageFormat

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


#: Output format -> (result file extension, Content-Type).
FORMATS: dict[str, tuple[str, str]] = {
    "png": ("png", "image/png"),
    "jpeg": ("jpg", "image/jpeg"),
    "webp": ("webp", "image/webp"),
}


@dataclass(frozen=True)
class TaskParams:
    """A create request that passed validation: what rendering it needs, in catalog terms."""

    model: str
    prompt: str
    size: str | None = None  # as sent ("auto", a ratio, "WxH"; Midjourney's --ar); None: default
    n: int = 1  # images the task makes (Midjourney: 4, or an option's override)
    tier: str | None = None
    quality: str | None = None
    image_urls: tuple[str, ...] = ()  # references (Midjourney: the URLs at the prompt's start)
    mask_url: str | None = None
    output_format: ImageFormat = "png"
    transparent: bool = False  # background=transparent: results keep an alpha channel
    callback_url: str | None = None

    @property
    def media_type(self) -> str:
        return FORMATS[self.output_format][1]


@dataclass(eq=False)
class TaskRecord:
    """A task's fixed timeline plus what settling it produced."""

    id: str
    params: TaskParams
    body: dict[str, Any] = field(repr=False)  # the create body as received
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
        return f"/results/{self.id}/{self.token}/{index}.{FORMATS[self.params.output_format][0]}"


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
