"""Protocol task handles: the id an MCP host holds for a task-backed tool call, kept durably.

A host that asked for a task gets a handle id (``secrets.token_urlsafe``: 128 bits, never a
task id, so knowing a task id does not reveal its handle), mapped here to our task id, with the
hash of who created it, its creation time and its time to live. The rows live in the state
database next to the tasks, so a handle answers after a restart for as long as its TTL runs.
A handle whose tool call failed before any task existed keeps that error text instead. A
handle reported failed keeps that failure (``fail``): a protocol task that ended never changes,
even when our task goes on (a create never sent is sent again by a later call; an ambiguous
create is found after all).

``HandleStore`` keeps its own connection (the engine's store is the engine's): every method
runs its SQL on a worker thread, one at a time; expired handles are deleted as they are met.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from imagegen_mcp.storage.connect import SqliteStore


@dataclass(frozen=True)
class TaskHandle:
    """One handle: ``task_id`` is None only when the call failed before a task existed
    (``error`` says why)."""

    id: str
    task_id: str | None
    tool: str
    creator: str
    session: str | None
    preview: str
    error: str | None
    created_at: float
    ttl_ms: int
    cancelled_at: float | None = None
    #: The failure first reported for the handle, and when: from then on it reads failed.
    failed_message: str | None = None
    failed_at: float | None = None


def new_handle_id() -> str:
    """An unguessable handle id (22 URL-safe characters, 128 random bits)."""
    return secrets.token_urlsafe(16)


def _handle(row: sqlite3.Row) -> TaskHandle:
    return TaskHandle(
        id=row["id"],
        task_id=row["task_id"],
        tool=row["tool"],
        creator=row["creator"],
        session=row["session"],
        preview=row["preview"],
        error=row["error"],
        created_at=row["created_at"],
        ttl_ms=row["ttl_ms"],
        cancelled_at=row["cancelled_at"],
        failed_message=row["failed_message"],
        failed_at=row["failed_at"],
    )


class HandleStore(SqliteStore):
    """Handles in the state database. Use ``await HandleStore.open(path)`` and ``aclose()``."""

    async def add(self, handle: TaskHandle) -> TaskHandle:
        def _add() -> None:
            self._conn.execute(
                "INSERT INTO mcp_task_handles (id, task_id, tool, creator, session, preview, "
                "error, created_at, ttl_ms, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    handle.id,
                    handle.task_id,
                    handle.tool,
                    handle.creator,
                    handle.session,
                    handle.preview,
                    handle.error,
                    handle.created_at,
                    handle.ttl_ms,
                    handle.created_at + handle.ttl_ms / 1000,
                ),
            )

        await self._run(_add)
        return handle

    async def get(self, handle_id: str, creator: str) -> TaskHandle | None:
        """The live handle ``handle_id`` if ``creator`` made it, else None (also when expired:
        a stranger cannot tell an expired handle from one that never existed)."""

        def _get() -> TaskHandle | None:
            self._purge()
            row = self._conn.execute(
                "SELECT * FROM mcp_task_handles WHERE id = ? AND creator = ?",
                (handle_id, creator),
            ).fetchone()
            return None if row is None else _handle(row)

        return await self._run(_get)

    async def page(self, creator: str, *, after: str | None, limit: int) -> list[TaskHandle] | None:
        """Live handles of ``creator``, newest first, ``limit`` of them after the handle
        ``after`` (None: ``after`` is no live handle of theirs). Exactly the handles ``get``
        answers ``creator`` (the spec: what tasks/get reaches, tasks/list shows)."""

        def _page() -> list[TaskHandle] | None:
            self._purge()
            where = "creator = ?"
            params: list[object] = [creator]
            if after is not None:
                row = self._conn.execute(
                    "SELECT created_at FROM mcp_task_handles WHERE id = ? AND creator = ?",
                    (after, creator),
                ).fetchone()
                if row is None:
                    return None
                where += " AND (created_at < ? OR (created_at = ? AND id < ?))"
                params += [row[0], row[0], after]
            rows = self._conn.execute(
                f"SELECT * FROM mcp_task_handles WHERE {where} "  # noqa: S608  # fixed SQL text
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            return [_handle(r) for r in rows]

        return await self._run(_page)

    async def cancel(self, handle_id: str) -> TaskHandle | None:
        """Mark the handle cancelled (the first time only); the handle as it now is."""

        def _cancel() -> TaskHandle | None:
            self._conn.execute(
                "UPDATE mcp_task_handles SET cancelled_at = ? WHERE id = ? AND cancelled_at "
                "IS NULL",
                (self._clock(), handle_id),
            )
            return self._one(handle_id)

        return await self._run(_cancel)

    async def fail(self, handle_id: str, message: str, at: float) -> TaskHandle | None:
        """Keep the handle's failure (the first one only); the handle as it now is."""

        def _fail() -> TaskHandle | None:
            self._conn.execute(
                "UPDATE mcp_task_handles SET failed_message = ?, failed_at = ? WHERE id = ? "
                "AND failed_message IS NULL",
                (message, at, handle_id),
            )
            return self._one(handle_id)

        return await self._run(_fail)

    def _one(self, handle_id: str) -> TaskHandle | None:
        row = self._conn.execute(
            "SELECT * FROM mcp_task_handles WHERE id = ?", (handle_id,)
        ).fetchone()
        return None if row is None else _handle(row)

    def _purge(self) -> None:
        self._conn.execute("DELETE FROM mcp_task_handles WHERE expires_at <= ?", (self._clock(),))
