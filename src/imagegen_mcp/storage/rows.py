"""Rows of the tasks and images tables as models (called on the store's worker thread)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from imagegen_mcp.models import SavedImage, Task, TaskError, TaskRequest


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def task_from_row(conn: sqlite3.Connection, row: sqlite3.Row) -> Task:
    """The task in ``row`` with its saved images (read from ``conn``)."""
    images = [
        SavedImage(
            index=r["idx"],
            path=r["path"],
            sha256=r["sha256"],
            width=r["width"],
            height=r["height"],
            bytes=r["bytes"],
            mime_type=r["mime_type"],
            remote_url=r["remote_url"],
            remote_expires_at=_dt(r["remote_expires_at"]),
        )
        for r in conn.execute("SELECT * FROM images WHERE task_id = ? ORDER BY idx", (row["id"],))
    ]
    error = None
    if row["error_code"] is not None:
        error = TaskError(
            code=row["error_code"],
            message=row["error_message"] or "",
            retryable=bool(row["error_retryable"]),
        )
    return Task(
        id=row["id"],
        upstream_id=row["upstream_id"],
        request=TaskRequest(
            prompt=row["prompt"],
            model=row["model"],
            size=row["size"] or None,
            resolution=row["resolution"],
            quality=row["quality"],
            n=row["n"],
            options=json.loads(row["options"]),
            image_urls=json.loads(row["image_urls"]),
            mask_url=row["mask_url"],
            kind=row["kind"],
        ),
        status=row["status"],
        progress=row["progress"],
        error=error,
        credits_reserved=row["credits_reserved"],
        estimated_time=row["estimated_time"],
        client_request_id=row["client_request_id"],
        callback_token=row["callback_token"],
        owner=row["owner"],
        sent_at=_dt(row["sent_at"]),
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        submitted_at=_dt(row["submitted_at"]),
        completed_at=_dt(row["completed_at"]),
        result_urls=json.loads(row["result_urls"]),
        results_expire_at=_dt(row["results_expire_at"]),
        images=images,
    )


def find_task(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> Task | None:
    """The first task ``sql`` selects, or None."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else task_from_row(conn, row)
