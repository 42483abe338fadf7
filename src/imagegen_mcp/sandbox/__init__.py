"""An EvoLink-compatible sandbox: a local emulator of the image task API and the files API.

It exists for offline development and tests, not as a generator: "images" are deterministic
gradients (or tinted copies of the references) of exactly the requested pixel size. Tasks move
pending -> processing -> completed on a clock tests can ``advance``; faults (HTTP errors, dropped
connections, truncated or slow downloads, failed tasks) are injected on demand or at random from
a seeded generator. Everything runs on one loopback port::

    async with Sandbox(SandboxConfig(task_duration=0.5)) as sb:
        ...  # point the client at sb.base_url with sb.api_key

    with Sandbox().run_in_thread() as sb:  # from synchronous code
        ...
"""

from imagegen_mcp.sandbox.config import (
    SANDBOX_API_KEY,
    Counters,
    ErrorStyle,
    FaultKind,
    Faults,
    Route,
    SandboxConfig,
)
from imagegen_mcp.sandbox.runner import Sandbox
from imagegen_mcp.sandbox.state import FileRecord
from imagegen_mcp.sandbox.tasks import TaskParams, TaskRecord

__all__ = [
    "SANDBOX_API_KEY",
    "Counters",
    "ErrorStyle",
    "FaultKind",
    "Faults",
    "FileRecord",
    "Route",
    "Sandbox",
    "SandboxConfig",
    "TaskParams",
    "TaskRecord",
]
