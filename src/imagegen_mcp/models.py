"""Plain data shared by every layer: requests, task states and records.

Per-model rules live in the catalog (``imagegen_mcp.catalog``), never here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "gpt-4o-image"
#: The longest prompt any catalog model takes (gpt-image-2: 32,000 characters); each model's
#: own limit is checked against the catalog.
MAX_PROMPT_CHARS = 32_000
#: The most images one task may make (Midjourney v8 drafts: 24).
MAX_IMAGES_PER_TASK = 24
MAX_REFERENCES = 16
#: The largest input image any catalog model takes (gpt-image-2: 50 MB).
MAX_REFERENCE_BYTES = 50 * 1024 * 1024
#: The longest a tool call waits for a task: many MCP clients drop a call at about 60 s.
MAX_WAIT_SECONDS = 55.0

OptionValue = bool | int | str

TaskStatus = Literal[
    "submitting",  # intent recorded, create POST not yet answered
    "pending",
    "processing",
    "completed",  # finished upstream and every image saved
    "failed",
    "unknown",  # create outcome ambiguous: may exist and be charged upstream
    "expired",  # finished upstream but its links expired before we saved them
]
#: Tasks that still owe work: the poller resumes them, list_tasks counts them as running.
OPEN_STATUSES: tuple[TaskStatus, ...] = ("submitting", "pending", "processing")
TERMINAL_STATUSES: tuple[TaskStatus, ...] = ("completed", "failed", "unknown", "expired")

#: The task lifecycle: every status change the store will write, from -> allowed next statuses.
#: ``None`` is "no row yet". Any other change is refused by the store (see ARCHITECTURE.md).
TRANSITIONS: dict[TaskStatus | None, frozenset[TaskStatus]] = {
    None: frozenset({"submitting"}),  # the intent, recorded before the create is paid for
    # accepted upstream; or refused / never sent (failed); or answer lost after sending (unknown)
    "submitting": frozenset({"pending", "processing", "failed", "unknown"}),
    "pending": frozenset({"pending", "processing", "completed", "failed", "expired"}),
    "processing": frozenset({"processing", "completed", "failed", "expired"}),
    # only a create that was never sent (error create_not_sent) may be sent again
    "failed": frozenset({"submitting"}),
    "completed": frozenset(),
    # the lost answer arrives after all (a slow create another process had given up on)
    "unknown": frozenset({"pending", "processing"}),
    "expired": frozenset(),
}


def sources_of(status: TaskStatus) -> tuple[TaskStatus, ...]:
    """The statuses a task may be in for ``status`` to be written next."""
    return tuple(s for s, targets in TRANSITIONS.items() if s is not None and status in targets)


#: Upstream task error codes the caller can fix by changing the request; others may pass on retry.
CALLER_FIXABLE_CODES: frozenset[str] = frozenset(
    {
        "content_policy_violation",
        "invalid_parameters",
        "image_processing_error",
        "image_dimension_mismatch",
        "request_cancelled",
    }
)


class _Record(BaseModel):
    # Validators are built on first use, not at import: a server answers tools/list sooner.
    model_config = ConfigDict(defer_build=True)


class TaskRequest(_Record):
    """What a caller asked for: everything needed to submit (or explain) one upstream task."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    model: str = DEFAULT_MODEL
    size: str | None = None  # a ratio, "auto" or "WxH"; None: the model's default
    resolution: str | None = None  # output tier, e.g. "2K"; None: the model's default
    quality: str | None = None  # rendering quality; None: the model's default
    #: Images the task makes; None until checked against the catalog (the model's default).
    n: int | None = Field(default=None, ge=1, le=MAX_IMAGES_PER_TASK)
    options: dict[str, OptionValue] = Field(default_factory=dict)
    image_urls: list[str] = Field(default_factory=list, max_length=MAX_REFERENCES)
    mask_url: str | None = None
    kind: Literal["generate", "edit"] = "generate"

    def priced_as(self) -> tuple[str, str | None, str | None, str]:
        """What the upstream's price depends on: model, tier, quality and extras. A charge seen
        for one of these is no estimate for another (gpt-image-2's high quality costs ~36x low)."""
        return (self.model, self.resolution, self.quality, json.dumps(self.options, sort_keys=True))

    @property
    def count(self) -> int:
        """How many images the task makes (1 until checked against the catalog)."""
        return self.n if self.n is not None else 1


class TaskError(_Record):
    """A failure attached to a task: upstream's code and message, and whether a retry may help."""

    code: str
    message: str
    retryable: bool


class SavedImage(_Record):
    """One result image, once it is safely on disk."""

    index: int
    path: str
    sha256: str
    width: int
    height: int
    bytes: int
    mime_type: str
    remote_url: str | None = None
    remote_expires_at: datetime | None = None


class Task(_Record):
    """One task as the store holds it."""

    id: str
    upstream_id: str | None
    request: TaskRequest
    status: TaskStatus
    progress: int = 0
    error: TaskError | None = None
    credits_reserved: float = 0.0
    estimated_time: float | None = None
    client_request_id: str | None = None
    callback_token: str | None = Field(default=None, exclude=True, repr=False)
    owner: str | None = Field(default=None, exclude=True, repr=False)  # process sending the create
    sent_at: datetime | None = Field(default=None, exclude=True, repr=False)  # create on the wire
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    completed_at: datetime | None = None
    result_urls: list[str] = Field(default_factory=list)
    results_expire_at: datetime | None = None
    images: list[SavedImage] = Field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def saved_note(self) -> str:
        """``", 1/2 saved"`` once any image is saved, else empty."""
        return f", {len(self.images)}/{self.expected_images} saved" if self.images else ""

    @property
    def expected_images(self) -> int:
        """The images the upstream returned, once known; else how many were asked for (some
        models treat n as a ceiling and return fewer)."""
        return len(self.result_urls) or self.request.count
