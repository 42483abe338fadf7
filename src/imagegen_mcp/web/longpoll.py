"""The playground's long polls (``GET /api/tasks/<id>?wait=``), held only while someone waits.

A poll ends at the first of: the task moves on (``until``), the wait runs out, or the client
goes away (its ``http.disconnect``). A page closed, reloaded or navigated away mid-poll frees its
waiter at once instead of holding it for up to ``MAX_POLL_SECONDS``. ``held()`` counts the polls
being held in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from starlette.requests import Request

    from imagegen_mcp.models import Task
    from imagegen_mcp.service.engine import TaskEngine


class _Count:
    now = 0


_HELD = _Count()


def held() -> int:
    """How many long polls are waiting now."""
    return _HELD.now


async def hold(
    request: Request, engine: TaskEngine, task_id: str, wait: float, until: Callable[[Task], bool]
) -> Task | None:
    """The task once it moves on or ``wait`` seconds pass; None when the client left first."""
    outcome: list[Task | Exception] = []
    _HELD.now += 1
    try:
        async with anyio.create_task_group() as group:

            async def poll() -> None:
                try:
                    outcome.append(await engine.wait(task_id, wait, until=until))
                except Exception as exc:  # noqa: BLE001  # raised below, outside the group
                    outcome.append(exc)
                group.cancel_scope.cancel()

            group.start_soon(poll)
            await _gone(request)
            group.cancel_scope.cancel()
    finally:
        _HELD.now -= 1
    if not outcome:
        return None
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


async def _gone(request: Request) -> None:
    """Returns once the client has disconnected (a GET's empty body is read on the way)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
