"""What the tools share: the settings they read, and the engine, which opens in the background
once the server answers (``server.app``), so that ``tools/list`` never waits for it. A tool that
needs the engine waits for it, bounded, and a failed opening is one line in every answer."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from imagegen_mcp.errors import ImagegenError

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import TaskEngine
    from imagegen_mcp.service.inputs import ImageInputs
    from imagegen_mcp.tools.previews import PreviewPolicy

#: Set while a tool call runs as a protocol task (``server.tasks_core``): the tool submits and
#: answers at once, without waiting; the host follows the task itself.
AS_PROTOCOL_TASK: ContextVar[bool] = ContextVar("as_protocol_task", default=False)

#: How long a call waits for the engine to open (it takes well under a second).
OPEN_WAIT_SECONDS = 30.0


class EngineUnavailable(ImagegenError):
    """The engine failed to open, or is not open yet after ``OPEN_WAIT_SECONDS``."""


@dataclass
class Opening:
    """The engine as it opens: ``opened`` or ``failed`` once, awaited by ``get``.

    Made inside the event loop (an ``anyio.Event`` needs one)."""

    done: anyio.Event = field(default_factory=anyio.Event)
    engine: TaskEngine | None = None
    inputs: ImageInputs | None = None
    failure: str | None = None

    def opened(self, engine: TaskEngine, inputs: ImageInputs) -> None:
        self.engine, self.inputs = engine, inputs
        self.done.set()

    def failed(self, message: str) -> None:
        self.failure = message
        self.done.set()

    def closed(self) -> None:
        self.engine = self.inputs = None
        self.failure = "The server is shutting down."

    async def get(self) -> tuple[TaskEngine, ImageInputs]:
        with anyio.move_on_after(OPEN_WAIT_SECONDS):
            await self.done.wait()
        if self.engine is not None and self.inputs is not None:
            return self.engine, self.inputs
        if self.failure is not None:
            raise EngineUnavailable(self.failure)
        raise EngineUnavailable(
            f"The server's task engine did not open within {OPEN_WAIT_SECONDS:.0f} s; "
            "try again shortly (the server log says why)."
        )


@dataclass
class AppState:
    """What the tools need; made in the server's lifespan, the engine opening behind it."""

    wait_seconds: float
    preview: PreviewPolicy
    default_model: str
    confirm_above: float | None = None  # IMAGEGEN_CONFIRM_ABOVE_CREDITS (tools.confirm)
    #: The client runs on this machine (stdio, loopback HTTP): its MCP roots are our folders.
    trust_roots: bool = False
    opening: Opening = field(default_factory=Opening)

    async def engine(self) -> TaskEngine:
        return (await self.opening.get())[0]

    async def inputs(self) -> ImageInputs:
        return (await self.opening.get())[1]
