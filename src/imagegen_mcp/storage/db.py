"""The durable task store: SQLite in WAL mode, migrated on open, one writer at a time.

Every public method is async and runs its SQL on a worker thread, serialized by a limiter of
one (``SqliteStore``), so a slow disk never blocks the event loop and check-then-write steps
(budget, idempotency key) are atomic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from imagegen_mcp.models import (
    OPEN_STATUSES,
    SavedImage,
    Task,
    TaskError,
    TaskStatus,
    sources_of,
)
from imagegen_mcp.storage.connect import SqliteStore
from imagegen_mcp.storage.durations import duration_ratios, learn_duration
from imagegen_mcp.storage.intents import (
    BUDGET_WINDOW,
    Intent,
    credits_per_image,
    record_intent,
    spent_since,
)
from imagegen_mcp.storage.rows import find_task, task_from_row

T = TypeVar("T")


class TaskStore(SqliteStore):
    """Tasks and their saved images. Use ``await TaskStore.open(path)`` and ``aclose()``."""

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

    async def create_intent(self, intent: Intent) -> tuple[Task, bool]:
        """Record a task before its create POST (see ``storage.intents``): (task, created)."""
        return await self._run(
            lambda: self._tx(lambda: record_intent(self._conn, self._clock(), intent))
        )

    async def mark_sent(self, task_id: str, owner: str | None) -> bool:
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

    # Every status change below goes through ``_move``, which writes it only from a status that
    # ``models.TRANSITIONS`` allows; each returns None when the task was not in such a status
    # (another process moved it on meanwhile) and the row is left as it was.

    async def settle_create(
        self,
        task_id: str,
        status: Literal["failed", "unknown"],
        error: TaskError,
        *,
        owner: str | None,
        sent: bool,
    ) -> Task | None:
        """Settle a ``submitting`` task whose create got no answer, only as it was read: same
        owner, same sent/unsent state (never over another process's retry)."""
        return await self._move(
            task_id,
            status,
            _error_columns(error),
            "AND owner IS ? AND (sent_at IS NULL) = ?",
            (owner, not sent),
        )

    async def record_accepted(
        self,
        task_id: str,
        *,
        upstream_id: str,
        status: Literal["pending", "processing"],
        progress: int,
        credits_reserved: float,
        estimated_time: float | None,
    ) -> Task | None:
        """The create was answered: the task exists (and is paid for) upstream."""
        return await self._move(
            task_id,
            status,
            {
                "upstream_id": upstream_id,
                "progress": progress,
                "credits_reserved": credits_reserved,
                "estimated_time": estimated_time,
                "submitted_at": self._clock(),
                **_error_columns(None),
            },
        )

    async def record_progress(
        self, task_id: str, status: Literal["pending", "processing"], progress: int
    ) -> Task | None:
        return await self._move(task_id, status, {"progress": progress})

    async def record_results(
        self, task_id: str, result_urls: list[str], *, expires_at: float
    ) -> Task | None:
        """The task finished upstream with these result links; saving them is what is left."""
        now = self._clock()
        return await self._move(
            task_id,
            "processing",
            {
                "progress": 100,
                "result_urls": json.dumps(result_urls),
                "results_expire_at": expires_at,
                "completed_at": now,
            },
        )

    async def note_error(self, task_id: str, error: TaskError) -> Task | None:
        """A problem worth showing on a task that is still open (e.g. the disk is full)."""
        return await self._move(task_id, None, _error_columns(error))

    async def finish(
        self,
        task_id: str,
        status: Literal["completed", "failed", "expired"],
        error: TaskError | None = None,
    ) -> Task | None:
        columns = _error_columns(error)
        if status == "completed":
            columns["progress"] = 100
        # A task that finished upstream keeps that time; one that never did ends now.
        return await self._move(task_id, status, columns, keep={"completed_at": self._clock()})

    async def _move(
        self,
        task_id: str,
        status: TaskStatus | None,
        columns: dict[str, object],
        guard: str = "",
        guard_params: tuple[object, ...] = (),
        *,
        keep: dict[str, object] | None = None,
    ) -> Task | None:
        """Write ``columns`` (names are this module's constants; ``keep`` ones only where still
        NULL) and the new ``status``, if ``TRANSITIONS`` allows it from the current one.
        ``status`` None writes no status, on an accepted (pending or processing) task."""
        sources = sources_of(status) if status is not None else ("pending", "processing")
        sets = [f"{name} = ?" for name in columns]
        sets += [f"{name} = COALESCE({name}, ?)" for name in keep or {}]
        values = [*columns.values(), *(keep or {}).values()]
        if status is not None:
            sets.append("status = ?")
            values.append(status)
        marks = ", ".join("?" for _ in sources)

        def _write() -> Task | None:
            cursor = self._conn.execute(
                f"UPDATE tasks SET {', '.join(sets)}, updated_at = ? "  # noqa: S608  # constant names
                f"WHERE id = ? AND status IN ({marks}) {guard}",
                (*values, self._clock(), task_id, *sources, *guard_params),
            )
            return self._get(task_id) if cursor.rowcount else None

        return await self._run(_write)

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
        return await self._run(lambda: self._find("SELECT * FROM tasks WHERE id = ?", (task_id,)))

    async def get_by_callback_token(self, token: str) -> Task | None:
        return await self._run(
            lambda: self._find("SELECT * FROM tasks WHERE callback_token = ?", (token,))
        )

    async def open_tasks(self) -> list[Task]:
        """Tasks the poller still owes work: not yet terminal."""
        marks = ", ".join("?" for _ in OPEN_STATUSES)
        return await self._select(
            f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY created_at",  # noqa: S608  # placeholders only
            OPEN_STATUSES,
        )

    async def recent(self, *, limit: int = 20, status: TaskStatus | None = None) -> list[Task]:
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

    async def credits_per_image(
        self, priced_as: tuple[str, str | None, str | None, str]
    ) -> float | None:
        """What the upstream last charged per image for requests priced alike (any process)."""
        return await self._run(lambda: credits_per_image(self._conn, priced_as))

    async def spent_since(self, since: float) -> float:
        return await self._run(lambda: spent_since(self._conn, since))

    async def spent_in_budget_window(self) -> float:
        """Credits reserved in the last 24 hours, as the daily budget counts them."""
        return await self._run(lambda: spent_since(self._conn, self._clock() - BUDGET_WINDOW))

    async def duration_ratios(self) -> dict[str, float]:
        """Per model, actual / estimated task duration learned so far (``storage.durations``)."""
        return await self._run(lambda: duration_ratios(self._conn))

    async def learn_duration(self, model: str, ratio: float) -> float:
        return await self._run(lambda: learn_duration(self._conn, model, ratio, self._clock()))

    async def _select(self, sql: str, params: Iterable[Any]) -> list[Task]:
        def _rows() -> list[Task]:
            rows = self._conn.execute(sql, tuple(params)).fetchall()
            return [task_from_row(self._conn, row) for row in rows]

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

    # --- worker thread only ------------------------------------------------------------------

    def _get(self, task_id: str) -> Task:
        task = find_task(self._conn, "SELECT * FROM tasks WHERE id = ?", (task_id,))
        if task is None:
            raise KeyError(task_id)
        return task

    def _find(self, sql: str, params: tuple[object, ...]) -> Task | None:
        return find_task(self._conn, sql, params)


def _error_columns(error: TaskError | None) -> dict[str, object]:
    return {
        "error_code": error.code if error else None,
        "error_message": error.message if error else None,
        "error_retryable": int(error.retryable) if error else None,
    }
