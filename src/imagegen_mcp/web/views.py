"""The playground's JSON: a task as the page shows it, and the history's counts.

A task view is the tools' ``TaskView`` (the fields an agent reads) plus what the page shows
beside it: the model, the prompt, when it was made, the bar's value and stage in words (the
same ``progress_of`` the tools' progress notifications use), and each image's URL on this
server. Its ``next_step`` and error message say what a person does (``web.wording``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imagegen_mcp.models import OPEN_STATUSES, TERMINAL_STATUSES, Task
from imagegen_mcp.tools.views import SpendView, progress_of, task_view
from imagegen_mcp.web.wording import for_person

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import Spend


def image_url(task_id: str, index: int) -> str:
    return f"/api/images/{task_id}/{index}"


def task_json(task: Task) -> dict[str, Any]:
    view = task_view(task).model_dump(mode="json")
    # The agent's next step and the task's error, in the page's words.
    view["next_step"] = for_person(view["next_step"])
    if view["error"] is not None:
        view["error"]["message"] = for_person(view["error"]["message"])
    for image in view["images"]:
        image["url"] = image_url(task.id, image["index"])
    bar, stage = progress_of(task)
    view.update(
        model=task.request.model,
        prompt=task.request.prompt,
        kind=task.request.kind,
        n=task.request.count,
        created_at=task.created_at.isoformat(),
        bar=round(bar, 1),
        stage=stage,
    )
    return view


def counts_json(counts: dict[str, int]) -> dict[str, int]:
    """Every status (0 when none), and ``running``: the open ones together."""
    every: dict[str, int] = {s: counts.get(s, 0) for s in (*OPEN_STATUSES, *TERMINAL_STATUSES)}
    return {"running": sum(every[s] for s in OPEN_STATUSES), **every}


def spend_json(spend: Spend) -> dict[str, Any]:
    view = SpendView(
        last_24h=round(spend.last_24h, 4),
        budget=spend.budget,
        left=None if spend.left is None else round(spend.left, 4),
    )
    return view.model_dump(mode="json")
