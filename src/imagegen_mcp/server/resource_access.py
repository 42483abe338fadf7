"""How the resources (``image://``, ``image://recent``, ``task://``) reach the engine, and how
its errors read to a client: one way for all of them.

The state is made by the lifespan and the engine opens behind it (``tools.state``); a read
before that, or after a failed opening, is a resource error in one line. A task or image that
does not exist is the protocol's "resource not found", saying what exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from imagegen_mcp.errors import ImagegenError, ImageNotFound, TaskNotFound

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import TaskEngine
    from imagegen_mcp.tools.state import AppState


@asynccontextmanager
async def resource_errors() -> AsyncIterator[None]:
    """The engine's errors as resource errors: not found (-32602), or one line of why."""
    try:
        yield
    except (TaskNotFound, ImageNotFound) as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except ImagegenError as exc:
        raise ResourceError(str(exc)) from None


async def engine_of(state_of: Callable[[], AppState | None]) -> TaskEngine:
    """The open engine; inside ``resource_errors``, a failed opening reads as its one line."""
    state = state_of()
    if state is None:
        raise ResourceError("The server is not ready yet: read the resource again in a moment.")
    return await state.engine()
