"""Plain data shared by every layer: sizes, model limits, task states and records.

Per-model limits live in one table (``MODELS``) because upstream models come and go monthly;
nothing else in the code should hard-code a model's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field

Size = Literal["1:1", "2:3", "3:2", "1024x1024", "1024x1536", "1536x1024"]
SIZES: tuple[str, ...] = get_args(Size)

#: Pixel size (width, height) of every accepted ``size``; ratios map to the upstream's pixel sizes.
SIZE_PIXELS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (1024, 1536),
    "3:2": (1536, 1024),
    "1024x1024": (1024, 1024),
    "1024x1536": (1024, 1536),
    "1536x1024": (1536, 1024),
}

ImageCount = Literal[1, 2, 4]

DEFAULT_MODEL = "gpt-4o-image"
MAX_PROMPT_CHARS = 2000
#: The longest a tool call waits for a task: many MCP clients drop a call at about 60 s.
MAX_WAIT_SECONDS = 55.0


@dataclass(frozen=True)
class ModelSpec:
    """What one upstream model accepts on the shared generations endpoint."""

    name: str
    sizes: tuple[str, ...]
    counts: tuple[int, ...]
    max_references: int
    max_reference_bytes: int
    supports_mask: bool
    max_prompt_chars: int = MAX_PROMPT_CHARS
    #: Credits per image the docs quote (None: not stated). Only a seed for the daily budget's
    #: estimate until a real charge for the model has been seen.
    price_hint: float | None = None


_MB = 1024 * 1024

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "gpt-4o-image", SIZES, (1, 2, 4), 5, 10 * _MB, supports_mask=True, price_hint=2.5
        ),
        ModelSpec("gpt-image-1.5-lite", SIZES, (1, 2, 4), 5, 10 * _MB, supports_mask=False),
        ModelSpec(
            "gpt-image-1.5-beta", SIZES, (1, 2, 4), 5, 10 * _MB, supports_mask=False, price_hint=0.9
        ),
    )
}

ModelName = Literal["gpt-4o-image", "gpt-image-1.5-lite", "gpt-image-1.5-beta"]

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


class TaskRequest(BaseModel):
    """What a caller asked for: everything needed to submit (or explain) one upstream task."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    model: str = DEFAULT_MODEL
    size: Size = "1:1"
    n: ImageCount = 1
    image_urls: list[str] = Field(default_factory=list, max_length=5)
    mask_url: str | None = None
    kind: Literal["generate", "edit"] = "generate"


class TaskError(BaseModel):
    """A failure attached to a task: upstream's code and message, and whether a retry may help."""

    code: str
    message: str
    retryable: bool


class SavedImage(BaseModel):
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


class Task(BaseModel):
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
        return f", {len(self.images)}/{self.request.n} saved" if self.images else ""
