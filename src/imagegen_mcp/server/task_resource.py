"""``task://{task_id}``: one task as JSON, with its whole request.

``list_tasks`` cuts prompts at 200 characters (its text is read on every turn) and the task
tools' results carry no prompt; a client that needs the prompt a task was made with (the MCP
App view's "Variation", which repeats it) reads this resource instead: the prompt in full, the
model and the choices, the status and the saved images' ``image://`` URIs. Reading it costs
nothing and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from imagegen_mcp.server.resource_access import engine_of, resource_errors
from imagegen_mcp.tools.views import image_uri

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from imagegen_mcp.models import Task
    from imagegen_mcp.tools.state import AppState

TEMPLATE = "task://{task_id}"


def task_record(task: Task) -> dict[str, Any]:
    request = task.request
    return {
        "task_id": task.id,
        "status": task.status,
        "kind": request.kind,
        "model": request.model,
        "prompt": request.prompt,
        "size": request.size,
        "resolution": request.resolution,
        "quality": request.quality,
        "n": request.count,
        "options": request.options,
        "created_at": task.created_at.isoformat(),
        "images": [image_uri(task.id, image.index) for image in task.images],
    }


def add_task_resource(mcp: MCPServer[Any], state_of: Callable[[], AppState | None]) -> None:
    """Register ``task://{task_id}``, reading the server's state through ``state_of``."""

    @mcp.resource(
        TEMPLATE,
        name="task",
        description="One task as JSON: its full prompt, model and choices, status, image URIs.",
        mime_type="application/json",
    )
    async def read_task(task_id: str) -> str:
        async with resource_errors():
            task = await (await engine_of(state_of)).get(task_id[:64])
        return json.dumps(task_record(task))
