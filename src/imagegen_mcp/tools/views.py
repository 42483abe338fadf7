"""What tools return: declared output schemas, and the next-step text an agent acts on."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from imagegen_mcp.errors import CREATE_NOT_SENT
from imagegen_mcp.models import OPEN_STATUSES, TERMINAL_STATUSES, Task, TaskStatus

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import Spend

#: A status in outputs: validated as ``TaskStatus``, published as a plain string (list_tasks'
#: ``status`` argument lists the values once, rather than every output schema again).
StatusOut = Annotated[TaskStatus, WithJsonSchema({"type": "string"})]

# Output models: their docstrings would become schema text every agent pays for on every turn,
# so they are described in comments.


# One saved image: ``path`` is the file on disk, ``uri`` the resource with its bytes (the sidecar
# JSON beside it keeps the rest: hash, upstream link, request).
class ImageView(BaseModel):
    index: int
    path: str
    uri: str
    width: int
    height: int
    mime_type: str


class ErrorView(BaseModel):
    code: str
    message: str
    retryable: bool


# What an agent acts on; ``next_step`` says what to do.
class TaskView(BaseModel):
    task_id: str
    status: StatusOut
    progress: int
    credits_reserved: float
    error: ErrorView | None = None
    images: list[ImageView]
    next_step: str


class TaskSummary(BaseModel):
    task_id: str
    status: StatusOut
    progress: int
    model: str
    prompt: str
    n: int
    created_at: datetime
    images_saved: int
    error: str | None = None


class SpendView(BaseModel):
    # Credits reserved in the last 24 h; budget and left are absent without a daily budget.
    last_24h: float
    budget: float | SkipJsonSchema[None] = None
    left: float | SkipJsonSchema[None] = None


class TaskList(BaseModel):
    tasks: list[TaskSummary]
    running: int
    completed: int
    counts: dict[str, int]
    spend: SpendView


def image_uri(task_id: str, index: int) -> str:
    return f"image://{task_id}/{index}"


def task_view(task: Task) -> TaskView:
    return TaskView(
        task_id=task.id,
        status=task.status,
        progress=task.progress,
        credits_reserved=task.credits_reserved,
        error=ErrorView(**task.error.model_dump()) if task.error else None,
        images=[
            ImageView(
                index=img.index,
                path=img.path,
                uri=image_uri(task.id, img.index),
                width=img.width,
                height=img.height,
                mime_type=img.mime_type,
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
        model=task.request.model,
        prompt=task.request.prompt[:200],
        n=task.request.count,
        created_at=task.created_at,
        images_saved=len(task.images),
        error=task.error.message if task.error else None,
    )


def task_list(tasks: list[Task], counts: dict[str, int], spend: Spend) -> dict[str, Any]:
    """list_tasks' structured content (a ``TaskList``)."""
    listing = TaskList(
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
    data = listing.model_dump(mode="json")
    data["spend"] = listing.spend.model_dump(mode="json", exclude_none=True)
    return data


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
