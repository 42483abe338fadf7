"""What a protocol task's result is: exactly what ``get_task`` would answer for the task (the
same rendering: previews, resource links, structured content), never a second rendering path.
"""

from __future__ import annotations

from mcp.types import CallToolResult

from imagegen_mcp.tools.images import render
from imagegen_mcp.tools.previews import PreviewMode
from imagegen_mcp.tools.state import AppState

#: The tools that may run as protocol tasks: the ones that pay and wait. Everything else
#: answers at once and is never a task.
TASK_TOOLS = frozenset({"generate_image", "edit_image"})


async def task_result(state: AppState, task_id: str, preview: PreviewMode) -> CallToolResult:
    """``get_task(task_id, wait_seconds=0, preview=preview)``'s result (a saved file deleted
    since is downloaded again or reported, as there)."""
    engine = await state.engine()
    task, problems = await engine.check_files(await engine.get(task_id))
    return await render(task, preview, state.preview, problems)
