"""Pydantic shapes of what the upstream answers. Unknown fields are allowed everywhere."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Open(BaseModel):
    # Validators are built on first use, not at import: a server answers tools/list sooner.
    model_config = ConfigDict(extra="allow", defer_build=True)


class TaskInfo(_Open):
    can_cancel: bool | None = None
    estimated_time: float | None = None


class Usage(_Open):
    billing_rule: str | None = None
    credits_reserved: float | None = None
    user_group: str | None = None


class UpstreamTaskError(_Open):
    code: str = "unknown_error"
    message: str = ""
    type: str | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code_as_str(cls, value: Any) -> str:
        return "unknown_error" if value is None else str(value)


class UpstreamTask(_Open):
    """A task as ``POST /v1/images/generations`` and ``GET /v1/tasks/{id}`` return it."""

    id: str
    status: str = "pending"
    progress: int = 0
    created: int | None = None
    model: str | None = None
    results: list[str] = Field(default_factory=list)
    error: UpstreamTaskError | None = None
    task_info: TaskInfo = Field(default_factory=TaskInfo)
    usage: Usage = Field(default_factory=Usage)

    @field_validator("status", mode="before")
    @classmethod
    def _status_lower(cls, value: Any) -> str:
        return str(value or "pending").lower()

    @field_validator("progress", mode="before")
    @classmethod
    def _progress_int(cls, value: Any) -> int:
        try:
            return max(0, min(100, int(float(value))))
        except (TypeError, ValueError):
            return 0

    @field_validator("results", mode="before")
    @classmethod
    def _results_urls(cls, value: Any) -> list[str]:
        # The docs show a flat list of URL strings; tolerate objects with a "url" too.
        if not value:
            return []
        out: list[str] = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict) and isinstance(item.get("url"), str):
                out.append(item["url"])
        return out


class UploadedFile(_Open):
    """``data`` of a files-API upload answer."""

    file_id: str | None = None
    file_name: str | None = None
    file_url: str
    download_url: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    expires_at: str | None = None
