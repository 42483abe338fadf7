"""Knobs of the sandbox: timing, credits, error style, and the fault plan tests steer at run time.

``SandboxConfig`` fields are read at each use, so a test may change one on a running sandbox.
``Faults`` is the live fault plan: queued faults fire first, in order, then the random rates.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

SANDBOX_API_KEY = "sk-evo-sandbox"

Route = Literal["create", "get", "upload", "download", "credits"]
ROUTES: tuple[str, ...] = get_args(Route)

FaultName = Literal["drop", "create_then_502", "create_then_drop", "truncate", "slow", "corrupt"]
#: An HTTP status answered with the error envelope, or a named misbehaviour.
FaultKind = int | FaultName

_NAMED_FAULTS: dict[str, frozenset[str]] = {
    "create": frozenset({"drop", "create_then_502", "create_then_drop"}),
    "get": frozenset({"drop"}),
    "upload": frozenset({"drop"}),
    "download": frozenset({"drop", "truncate", "slow", "corrupt"}),
    "credits": frozenset({"drop"}),
}

ErrorStyle = Literal["new", "old"]


def check_fault(route: str, kind: object) -> FaultKind:
    """``kind`` if it makes sense on ``route``, else ``ValueError``."""
    if route not in _NAMED_FAULTS:
        raise ValueError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}")
    if isinstance(kind, bool) or not isinstance(kind, int | str):
        raise ValueError(f"fault kind must be an HTTP status or a name, not {kind!r}")
    if isinstance(kind, int):
        if not 400 <= kind <= 599:
            raise ValueError(f"fault status must be 4xx or 5xx, not {kind}")
        return kind
    if kind not in _NAMED_FAULTS[route]:
        allowed = ", ".join(sorted(_NAMED_FAULTS[route]))
        raise ValueError(f"fault {kind!r} does not apply to {route!r} (allowed: {allowed})")
    return cast("FaultKind", kind)


@dataclass
class Faults:
    """What the sandbox does wrong, and when. Mutate freely while the sandbox runs."""

    #: Probability per request for each kind, per route: ``{"get": {503: 0.1, "drop": 0.05}}``.
    rates: dict[str, dict[str | int, float]] = field(default_factory=dict)
    #: Seconds sent in ``Retry-After`` with every 429.
    retry_after: int | None = 1  # None: no Retry-After header at all
    #: Pause between chunks of a "slow" download, and the chunk size.
    slow_chunk_delay: float = 0.05
    slow_chunk_size: int = 4096
    #: The next ``fail_tasks`` created tasks end "failed" with this code and message.
    fail_tasks: int = 0
    fail_code: str = "generation_failed_no_content"
    fail_message: str = "The model returned no image for this prompt (sandbox fault)."
    _queued: dict[str, deque[FaultKind]] = field(default_factory=dict, repr=False)

    def queue(self, route: Route, kind: FaultKind, times: int = 1) -> None:
        """Make the next ``times`` requests on ``route`` misbehave as ``kind``."""
        check_fault(route, kind)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._queued.setdefault(route, deque()).extend([kind] * times)

    def pending(self, route: Route) -> int:
        """How many queued faults have not fired yet on ``route``."""
        return len(self._queued.get(route, ()))

    def clear(self) -> None:
        """Drop every queued fault and every rate."""
        self._queued.clear()
        self.rates.clear()
        self.fail_tasks = 0

    def take(self, route: Route, rng: random.Random) -> FaultKind | None:
        """The fault for this request, if any: queued ones first, then one roll over the rates."""
        queued = self._queued.get(route)
        if queued:
            return queued.popleft()
        rates = self.rates.get(route)
        if not rates:
            return None
        roll = rng.random()
        threshold = 0.0
        for kind, probability in rates.items():
            checked = check_fault(route, kind)
            threshold += probability
            if roll < threshold:
                return checked
        return None

    def take_task_failure(self) -> tuple[str, str] | None:
        """Consume one of ``fail_tasks``: the (code, message) the new task will end with."""
        if self.fail_tasks <= 0:
            return None
        self.fail_tasks -= 1
        return (self.fail_code, self.fail_message)


@dataclass
class Counters:
    """Live request counts, for assertions: every request received counts, even when it is
    refused (bad key, invalid body) or faulted, except ``creates`` and the callback outcomes."""

    creates: int = 0  # create POSTs that created a task (including create_then_* faults)
    create_requests: int = 0  # every create POST received
    task_gets: int = 0
    uploads: int = 0  # every upload POST, on any of the three endpoints
    downloads: int = 0  # result downloads served or attempted
    file_gets: int = 0  # uploaded-file downloads served or attempted
    callbacks_sent: int = 0  # callback POSTs answered 2xx
    callback_attempts: int = 0  # every callback POST, retries included
    callbacks_failed: int = 0  # tasks whose every callback attempt failed: none will follow
    credits_gets: int = 0


@dataclass
class SandboxConfig:
    """How the sandbox behaves. Defaults mimic the upstream with quick tasks."""

    api_keys: frozenset[str] = frozenset({SANDBOX_API_KEY})
    #: Behave like a careless upstream that echoes the Authorization header it got in 401s.
    echo_authorization: bool = False
    task_duration: float = 3.0  # mean seconds from create to completed
    duration_jitter: float = 0.0  # +- fraction of task_duration, drawn per task
    estimate_error: float = 0.0  # reported estimated_time = true duration * (1 + u), |u| <= e
    estimate_bias: float = 1.0  # ... times this: a model whose estimates run long (> 1) or short
    pending_fraction: float = 0.1  # share of the duration spent "pending" before "processing"
    result_ttl: float = 86400.0
    upload_ttl: float = 72 * 3600.0
    credits: float = 1000.0
    credits_per_image: float = 2.5
    error_style: ErrorStyle = "new"
    #: True applies the real rule (https, no internal IPs); False also allows http loopback.
    strict_callbacks: bool = False
    seed: int = 0
    faults: Faults = field(default_factory=Faults)
    callback_timeout: float = 10.0
    callback_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    max_files: int = 100
    max_upload_bytes: int = 10 * 1024 * 1024
    fetch_timeout: float = 10.0  # reference images and upload-by-URL
