"""An EvoLink-compatible sandbox: a local emulator of the image task API and the files API.

It exists for offline development and tests, not as a generator: "images" are deterministic
gradients (or tinted copies of the references) of exactly the requested pixel size. Tasks move
pending -> processing -> completed on a clock tests can ``advance``; faults (HTTP errors, dropped
connections, truncated or slow downloads, failed tasks) are injected on demand or at random from
a seeded generator. Everything runs on one loopback port.

Every model in the catalog (``imagegen_mcp.catalog``) is served: a create body is checked on the
wire for its model (the fields it takes, their values, Midjourney's prompt URLs and ``--ar``) and
refused with the upstream's 400 envelope naming the parameter and what it accepts; results have
the pixel size ``catalog.output_size`` gives, in the model's output format (or the
``output_format`` asked for), n images (4 for Midjourney). ``Sandbox.create_bodies`` lists the
create bodies received (refused ones too; the last 1000) and ``TaskRecord.body`` each task's, so
tests can check what a client put on the wire::

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
