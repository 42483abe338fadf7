"""The durable task store: SQLite in WAL mode, migrated on open, one writer at a time.

Every public method is async and runs its SQL on a worker thread, serialized by a limiter of
one, so a slow disk never blocks the event loop and check-then-write steps (budget, idempotency
key) are atomic.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from imagegen_mcp.errors import CREATE_NOT_SENT, BudgetExceeded, InputError, StorageError
from imagegen_mcp.models import SavedImage, Task, TaskError, TaskRequest
from imagegen_mcp.storage.migrations import migrate

T = TypeVar("T")

OPEN_FOR_POLLER = ("submitting", "pending", "processing")
BUDGET_WINDOW = 24 * 3600.0

_TASK_FIELDS = frozenset(
    {
        "upstream_id",
        "status",
        "progress",
        "error_code",
        "error_message",
        "error_retryable",
        "credits_reserved",
        "estimated_time",
        "result_urls",
        "results_expire_at",
        "submitted_at",
        "completed_at",
    }
)


def _billing_shape(request: TaskRequest) -> tuple[str, str, str, str, int]:
    """What makes two requests the same paid work (uploaded input URLs may differ)."""
    return (request.kind, request.prompt, request.model, request.size, request.n)


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class TaskStore:
    """Tasks and their saved images. Use ``await TaskStore.open(path)`` and ``aclose()``."""

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], float]) -> None:
        self._conn = conn
        self._clock = clock
        self._limiter = anyio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> TaskStore:
        def _open() -> sqlite3.Connection:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            # First, so that switching to WAL and migrating wait for other processes' locks.
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
            return conn

        try:
            conn = await anyio.to_thread.run_sync(_open)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"Cannot open the state database at {path}: {exc}. "
                "Set IMAGEGEN_HOME to a writable directory."
            ) from exc
        return cls(conn, clock=clock)

    async def aclose(self) -> None:
        await self._run(self._conn.close)

    async def _run(self, fn: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self._limiter)
        except sqlite3.Error as exc:
            raise StorageError(f"The state database failed: {exc}") from exc

    def _tx(self, fn: Callable[[], T]) -> T:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn()
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return result

    # --- writes -----------------------------------------------------------------------------

    async def create_intent(
        self,
        task_id: str,
        request: TaskRequest,
        *,
        client_request_id: str | None = None,
        callback_token: str | None = None,
        credits_estimate: float = 0.0,
        daily_budget: float | None = None,
        owner: str | None = None,
    ) -> tuple[Task, bool]:
        """Record a task before its create POST. Returns (task, created).

        With a known ``client_request_id`` the existing task comes back and nothing is created,
        unless that task's create was never sent (``create_not_sent``): then the same task is
        made ready to send again, with the request it was first recorded with.
        With a budget, the credits of the last 24 hours plus this estimate must fit in it.
        ``owner`` names the process about to send the create (see ``storage.owner``).
        """

        def _create() -> tuple[Task, bool]:
            retry: Task | None = None
            if client_request_id is not None:
                row = self._conn.execute(
                    "SELECT * FROM tasks WHERE client_request_id = ?", (client_request_id,)
                ).fetchone()
                if row is not None:
                    if row["status"] != "failed" or row["error_code"] != CREATE_NOT_SENT:
                        return self._task(row), False
                    retry = self._task(row)
                    if _billing_shape(retry.request) != _billing_shape(request):
                        raise InputError(
                            f"client_request_id {client_request_id!r} belongs to another request "
                            f"({retry.id}, never sent). Call again with the same prompt, model, "
                            "size and n, or with a new client_request_id."
                        )
            now = self._clock()
            if daily_budget is not None:
                spent = self._spent_since(now - BUDGET_WINDOW)
                if spent + credits_estimate > daily_budget:
                    raise BudgetExceeded(
                        f"Daily credit budget reached: {spent:g} of {daily_budget:g} credits used "
                        "in the last 24 hours. Wait, or raise IMAGEGEN_MAX_CREDITS_PER_DAY."
                    )
            if retry is not None:
                self._conn.execute(
                    "UPDATE tasks SET status = 'submitting', error_code = NULL, "
                    "error_message = NULL, error_retryable = NULL, sent_at = NULL, owner = ?, "
                    "credits_reserved = ?, created_at = ?, updated_at = ? WHERE id = ?",
                    (owner, credits_estimate, now, now, retry.id),
                )
                return self._get(retry.id), True
            self._conn.execute(
                """INSERT INTO tasks (id, client_request_id, callback_token, kind, prompt, model,
                   size, n, image_urls, mask_url, status, credits_reserved, created_at, updated_at,
                   owner)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitting', ?, ?, ?, ?)""",
                (
                    task_id,
                    client_request_id,
                    callback_token,
                    request.kind,
                    request.prompt,
                    request.model,
                    request.size,
                    request.n,
                    json.dumps(request.image_urls),
                    request.mask_url,
                    credits_estimate,
                    now,
                    now,
                    owner,
                ),
            )
            return self._get(task_id), True

        return await self._run(lambda: self._tx(_create))

    async def update(self, task_id: str, **fields: Any) -> Task:
        """Set task columns (see ``_TASK_FIELDS``); ``error`` takes a TaskError or None."""
        task = await self.update_if(task_id, None, **fields)
        assert task is not None  # unconditional updates always apply
        return task

    async def update_if(self, task_id: str, expected: str | None, /, **fields: Any) -> Task | None:
        """Like ``update``, but only while the task's status is ``expected``; else None."""
        if "error" in fields:
            error: TaskError | None = fields.pop("error")
            fields["error_code"] = error.code if error else None
            fields["error_message"] = error.message if error else None
            fields["error_retryable"] = int(error.retryable) if error else None
        unknown = set(fields) - _TASK_FIELDS
        if unknown:
            raise ValueError(f"unknown task fields: {sorted(unknown)}")
        if "result_urls" in fields:
            fields["result_urls"] = json.dumps(fields["result_urls"])

        def _update() -> Task | None:
            cols = ", ".join(f"{name} = ?" for name in fields)
            cursor = self._conn.execute(
                f"UPDATE tasks SET {cols}, updated_at = ? "  # noqa: S608  # names checked above
                "WHERE id = ? AND (? IS NULL OR status = ?)",
                (*fields.values(), self._clock(), task_id, expected, expected),
            )
            return self._get(task_id) if cursor.rowcount else None

        return await self._run(_update)

    async def mark_sent(self, task_id: str, owner: str) -> bool:
        """Record that ``owner`` is about to put the task's create on the wire. False (and the
        create must not be sent) if the task is no longer this owner's unsent create."""

        def _mark() -> bool:
            now = self._clock()
            cursor = self._conn.execute(
                "UPDATE tasks SET sent_at = ?, updated_at = ? WHERE id = ? AND status = "
                "'submitting' AND owner IS ? AND sent_at IS NULL",
                (now, now, task_id, owner),
            )
            return cursor.rowcount == 1

        return await self._run(_mark)

    async def settle_orphan(self, task: Task, status: str, error: TaskError) -> Task | None:
        """Settle a ``submitting`` task as read (same owner, same sent/unsent state); None if
        it moved on meanwhile."""

        def _settle() -> Task | None:
            cursor = self._conn.execute(
                "UPDATE tasks SET status = ?, error_code = ?, error_message = ?, "
                "error_retryable = ?, updated_at = ? WHERE id = ? AND status = 'submitting' "
                "AND owner IS ? AND (sent_at IS NULL) = ?",
                (
                    status,
                    error.code,
                    error.message,
                    int(error.retryable),
                    self._clock(),
                    task.id,
                    task.owner,
                    task.sent_at is None,
                ),
            )
            return self._get(task.id) if cursor.rowcount else None

        return await self._run(_settle)

    async def add_image(self, task_id: str, image: SavedImage) -> None:
        def _add() -> None:
            self._conn.execute(
                """INSERT OR REPLACE INTO images (task_id, idx, path, sha256, width, height, bytes,
                   mime_type, remote_url, remote_expires_at, saved_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    task_id,
                    image.index,
                    image.path,
                    image.sha256,
                    image.width,
                    image.height,
                    image.bytes,
                    image.mime_type,
                    image.remote_url,
                    image.remote_expires_at.timestamp() if image.remote_expires_at else None,
                    self._clock(),
                ),
            )

        await self._run(_add)

    # --- reads ------------------------------------------------------------------------------

    async def get(self, task_id: str) -> Task | None:
        def _get() -> Task | None:
            row = self._conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
            return None if row is None else self._task(row)

        return await self._run(_get)

    async def get_by_callback_token(self, token: str) -> Task | None:
        def _get() -> Task | None:
            row = self._conn.execute(
                "SELECT * FROM tasks WHERE callback_token = ?", (token,)
            ).fetchone()
            return None if row is None else self._task(row)

        return await self._run(_get)

    async def open_tasks(self) -> list[Task]:
        """Tasks the poller still owes work: not yet terminal."""
        marks = ", ".join("?" for _ in OPEN_FOR_POLLER)
        return await self._select(
            f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY created_at",  # noqa: S608  # placeholders only
            OPEN_FOR_POLLER,
        )

    async def recent(self, *, limit: int = 20, status: str | None = None) -> list[Task]:
        if status is None:
            return await self._select(
                "SELECT * FROM tasks ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
            )
        return await self._select(
            "SELECT * FROM tasks WHERE status = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (status, limit),
        )

    async def status_counts(self) -> dict[str, int]:
        def _counts() -> dict[str, int]:
            rows = self._conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status")
            return {row[0]: int(row[1]) for row in rows}

        return await self._run(_counts)

    async def spent_since(self, since: float) -> float:
        return await self._run(lambda: self._spent_since(since))

    async def _select(self, sql: str, params: Iterable[Any]) -> list[Task]:
        def _rows() -> list[Task]:
            return [self._task(row) for row in self._conn.execute(sql, tuple(params))]

        return await self._run(_rows)

    # --- uploads cache ----------------------------------------------------------------------

    async def cached_upload(self, sha256: str, *, valid_for: float) -> str | None:
        """The file URL of an earlier upload of the same bytes, if it outlives ``valid_for`` s."""

        def _get() -> str | None:
            row = self._conn.execute(
                "SELECT file_url FROM uploads WHERE sha256 = ? AND expires_at > ?",
                (sha256, self._clock() + valid_for),
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._run(_get)

    async def remember_upload(
        self, sha256: str, file_url: str, mime_type: str, size: int, expires_at: float
    ) -> None:
        await self._run(
            lambda: self._conn.execute(
                """INSERT OR REPLACE INTO uploads (sha256, file_url, mime_type, bytes, expires_at,
                   created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                (sha256, file_url, mime_type, size, expires_at, self._clock()),
            )
        )

    # --- row mapping (worker thread only) ---------------------------------------------------

    def _spent_since(self, since: float) -> float:
        # Rejected creates (failed, never given an upstream id) cost nothing.
        row = self._conn.execute(
            """SELECT COALESCE(SUM(credits_reserved), 0) FROM tasks
               WHERE created_at >= ? AND NOT (status = 'failed' AND upstream_id IS NULL)""",
            (since,),
        ).fetchone()
        return float(row[0])

    def _get(self, task_id: str) -> Task:
        row = self._conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise KeyError(task_id)
        return self._task(row)

    def _task(self, row: sqlite3.Row) -> Task:
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
            for r in self._conn.execute(
                "SELECT * FROM images WHERE task_id = ? ORDER BY idx", (row["id"],)
            )
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
                size=row["size"],
                n=row["n"],
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
