"""How the upstream's answers map onto our task lifecycle (``models.TRANSITIONS``)."""

from __future__ import annotations

from typing import Literal

from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.models import CALLER_FIXABLE_CODES, TaskError

UpstreamOutcome = Literal["pending", "processing", "completed", "failed"]


def upstream_status(up: UpstreamTask) -> UpstreamOutcome:
    """Our status for an upstream status string (unknown ones count as still running)."""
    if up.status in ("completed", "succeeded", "success"):
        return "completed"
    if up.status in ("failed", "error", "cancelled", "canceled"):
        return "failed"
    return "pending" if up.status == "pending" else "processing"


def task_error(up: UpstreamTask) -> TaskError:
    """The error of a task the upstream reports failed."""
    if up.error is not None:
        code, message = up.error.code, up.error.message
    elif up.status in ("cancelled", "canceled"):
        code, message = "request_cancelled", "The task was cancelled upstream."
    else:
        code, message = "unknown_error", "The upstream reported failure without details."
    return TaskError(code=code, message=message, retryable=code not in CALLER_FIXABLE_CODES)
