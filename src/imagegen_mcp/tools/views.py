"""What tools return: declared output schemas, and the next-step text an agent acts on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from imagegen_mcp.errors import CREATE_NOT_SENT
from imagegen_mcp.models import OPEN_STATUSES, TERMINAL_STATUSES, Task, TaskStatus
from imagegen_mcp.service.engine import Spend


class ImageView(BaseModel):
    index: int
    path: str = Field(description="Absolute path of the saved file: use it directly.")
    uri: str = Field(description="image:// resource URI with the full image bytes.")
    file_uri: str
    width: int
    height: int
    bytes: int
    sha256: str
    mime_type: str
    remote_url: str | None = Field(
        default=None, description="Upstream link; expires (see remote_expires_at)."
    )
    remote_expires_at: datetime | None = None


class ErrorView(BaseModel):
    code: str
    message: str
    retryable: bool = Field(description="Whether retrying the same request could succeed.")


class TaskView(BaseModel):
    task_id: str
    status: TaskStatus
    progress: int
    kind: str
    model: str
    prompt: str
    size: str | None = Field(description="None: the model's default.")
    n: int
    created_at: datetime
    completed_at: datetime | None = None
    credits_reserved: float
    error: ErrorView | None = None
    images: list[ImageView]
    next_step: str


class TaskSummary(BaseModel):
    task_id: str
    status: TaskStatus
    progress: int
    kind: str
    model: str
    prompt: str
    size: str | None
    n: int
    created_at: datetime
    images_saved: int
    error: str | None = None


class SpendView(BaseModel):
    last_24h: float
    budget: float | None
    left: float | None


class TaskList(BaseModel):
    tasks: list[TaskSummary]
    running: int
    completed: int
    counts: dict[str, int]
    spend: SpendView  # credits reserved in the last 24 h; budget None: no daily budget


def image_uri(task_id: str, index: int) -> str:
    return f"image://{task_id}/{index}"


def task_view(task: Task) -> TaskView:
    req = task.request
    return TaskView(
        task_id=task.id,
        status=task.status,
        progress=task.progress,
        kind=req.kind,
        model=req.model,
        prompt=req.prompt,
        size=req.size,
        n=req.count,
        created_at=task.created_at,
        completed_at=task.completed_at,
        credits_reserved=task.credits_reserved,
        error=ErrorView(**task.error.model_dump()) if task.error else None,
        images=[
            ImageView(
                index=img.index,
                path=img.path,
                uri=image_uri(task.id, img.index),
                file_uri=Path(img.path).as_uri(),
                width=img.width,
                height=img.height,
                bytes=img.bytes,
                sha256=img.sha256,
                mime_type=img.mime_type,
                remote_url=img.remote_url,
                remote_expires_at=img.remote_expires_at,
            )
            for img in task.images
        ],
        next_step=next_step(task),
    )


def task_summary(task: Task) -> TaskSummary:
    return TaskSummary(
        task_id=task.id,
        status=task.status,
        progress=task.progress,
        kind=task.request.kind,
        model=task.request.model,
        prompt=task.request.prompt[:200],
        size=task.request.size,
        n=task.request.count,
        created_at=task.created_at,
        images_saved=len(task.images),
        error=task.error.message if task.error else None,
    )


def task_list(tasks: list[Task], counts: dict[str, int], spend: Spend) -> TaskList:
    return TaskList(
        tasks=[task_summary(t) for t in tasks],
        running=sum(counts.get(s, 0) for s in OPEN_STATUSES),
        completed=counts.get("completed", 0),
        counts=counts,
        spend=SpendView(
            last_24h=round(spend.last_24h, 4),
            budget=spend.budget,
            left=None if spend.left is None else round(spend.left, 4),
        ),
    )


#: About how long list_tasks' text may grow: prompts are cut shorter (60 characters at most,
#: 12 at least) as tasks are more.
LIST_TEXT_CHARS = 1400


def task_list_text(
    tasks: list[Task], counts: dict[str, int], spend: Spend, status: TaskStatus | None
) -> str:
    """A few lines for the agent: counts, spend, then one short line per task."""
    total = sum(counts.values())
    known = [s for s in (*OPEN_STATUSES, *TERMINAL_STATUSES) if counts.get(s)]
    by_status = ", ".join(f"{counts[s]} {s}" for s in known)
    lines = [f"{total} tasks: {by_status}." if total else "No tasks yet."]
    spent = f"Credits reserved in the last 24 h: {_credits(spend.last_24h)}"
    if spend.budget is None:
        lines.append(f"{spent} (no daily budget set).")
    else:
        left = _credits(spend.left or 0.0)
        lines.append(f"{spent} of the {_credits(spend.budget)} daily budget ({left} left).")
    if tasks:
        lines.append(f"Newest {status + ' ' if status else ''}tasks (get_task for details):")
    rows = [(f"{t.id} {t.status} {t.request.model} n={t.request.count}", t) for t in tasks]
    used = sum(len(line) + 1 for line in lines) + sum(len(row) + 4 for row, _ in rows)
    width = max(12, min(60, (LIST_TEXT_CHARS - used) // max(1, len(rows))))
    for row, task in rows:
        prompt = " ".join(task.request.prompt.split())
        if len(prompt) > width:
            prompt = prompt[: width - 1] + "…"
        lines.append(f'{row} "{prompt}"')
    return "\n".join(lines)


def _credits(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def next_step(task: Task) -> str:
    """One paragraph telling the agent what happened and exactly what to do next."""
    tid = task.id
    if task.status == "completed":
        paths = "; ".join(img.path for img in task.images)
        return f"Done: {len(task.images)} image(s) saved: {paths}. Use these paths directly."
    if task.status in OPEN_STATUSES:
        note = f" Last problem: {task.error.message}" if task.error else ""
        return (
            f"Still {task.status} ({task.progress}%{task.saved_note}). Call get_task('{tid}') to "
            "keep waiting - do not call generate_image or edit_image again: that starts and "
            "charges a new task. The server keeps polling and saves the images meanwhile."
            f"{note}"
        )
    error = task.error.message if task.error else "no details"
    if task.status == "unknown":
        return (
            f"Task {tid} may have been created and charged upstream, but its answer was lost: "
            f"{error} Do not retry blindly; check the EvoLink dashboard first."
        )
    if task.status == "expired":
        return f"Task {tid} finished but its images could not be saved in time: {error}"
    retry = (
        "Retrying the same request may work."
        if task.error and task.error.retryable
        else "Change the request before trying again."
    )
    code = task.error.code if task.error else "unknown_error"
    if code == "content_policy_violation":
        retry = "Rephrase the prompt to avoid content the provider refuses, then try again."
    if code == CREATE_NOT_SENT:
        retry = (
            "Nothing was sent or charged: call the same tool again with the same arguments "
            "(and the same client_request_id, if you gave one)."
        )
    return f"Task {tid} failed ({code}): {error} {retry}"


#: Share of the progress bar for the upstream's generation; saving the images fills the rest.
GENERATING_SHARE = 90.0


def progress_of(task: Task) -> tuple[float, str]:
    """Where a task stands on a 0-100 bar, and the stage in words."""
    if task.is_terminal:
        return 100.0, task.status
    n = task.expected_images
    if task.images or task.result_urls:
        saved = len(task.images)
        # 99 at most until the task is settled: the last image's record may still be written.
        value = min(99.0, GENERATING_SHARE + (100 - GENERATING_SHARE) * saved / n)
        return value, f"saving images ({saved}/{n} saved)"
    value = GENERATING_SHARE * min(task.progress, 99) / 100
    return value, f"{task.status} upstream ({task.progress}%)"
