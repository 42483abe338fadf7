"""What a soak run is asked to do, and what each of its logical requests went through."""

from __future__ import annotations

from dataclasses import dataclass, field

START_TIMEOUT = 60.0  # spawn to tools/list answered
CALL_GRACE = 30.0  # a tool call unanswered this long after its wait_seconds has hung
OPEN = ("submitting", "pending", "processing")
TERMINAL = ("completed", "failed", "unknown", "expired")


@dataclass
class SoakConfig:
    tasks: int = 100
    kills: int = 8
    kill_after: tuple[float, float] = (1.0, 5.0)  # seconds from a server's start to its kill
    concurrency: int = 25  # agents in flight at once
    duration: float = 4.0  # mean task duration upstream (+-50%)
    get_faults: float = 0.2  # share of task GETs that fail (503 or dropped)
    download_faults: float = 0.2  # share of downloads truncated, slow, dropped or 503
    rps: float = 20.0  # the server's upstream request cap
    wait_seconds: float = 5.0  # what agents pass to the tools
    seed: int = 11
    timeout: float = 900.0  # give up on the whole run after this long


@dataclass
class Request:
    """One logical request of one agent, across server incarnations."""

    index: int
    crid: str
    prompt: str
    size: str
    n: int
    task_id: str | None = None
    status: str | None = None
    calls: int = 0
    tool_errors: list[str] = field(default_factory=list)
    interrupted: int = 0  # kills that found this request unfinished
    hung: list[str] = field(default_factory=list)  # calls never answered
    not_sent: int = 0  # times the task came back failed as never sent, and was asked again
