"""Opening the state database: private to its owner, in WAL mode, migrated, and a clear
error that says what to do when it cannot be opened; and ``SqliteStore``, the base of the stores
that each keep a connection to it.

A store's SQL runs on a worker thread, one call at a time (a limiter of one), so a slow disk
never blocks the event loop and a method's check-then-write steps are atomic; an SQLite failure
reaches the caller as ``StorageError``."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self, TypeVar

import anyio
import anyio.to_thread

from imagegen_mcp.errors import StorageError
from imagegen_mcp.storage.migrations import migrate

T = TypeVar("T")


def private_dir(directory: Path) -> None:
    """Create ``directory`` if needed, readable by its owner only (on POSIX)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(directory, 0o700)


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the database at ``path`` (blocking: call it on a worker thread)."""
    try:
        return _connect(path)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):
            raise _unwritable(path, exc) from exc
        raise StorageError(
            f"The state database {path} is damaged ({exc}): move it aside (its task history "
            "is then forgotten; saved images stay) or set IMAGEGEN_HOME to another folder."
        ) from exc
    except OSError as exc:
        raise _unwritable(path, exc) from exc


def _connect(path: Path) -> sqlite3.Connection:
    private_dir(path.parent)
    # Prompts, callback tokens and upload URLs are nobody else's business: the file is created
    # owner-only, and SQLite gives its -wal and -shm files the same mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if os.name == "posix":
        os.chmod(path, 0o600)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    # First, so that switching to WAL and migrating wait for other processes' locks.
    conn.execute("PRAGMA busy_timeout=10000")
    _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


#: How long opening waits for another process's first open to switch the file to WAL.
WAL_SWITCH_SECONDS = 10.0


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """WAL mode, waiting for others who open the same new file at the same moment.

    Changing the journal mode can answer "database is locked" at once, without the busy
    timeout, while another connection is doing the same; it is tried again, within a bound.
    """
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
            if not locked or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _unwritable(path: Path, exc: Exception) -> StorageError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return StorageError(
        f"Cannot open the state database at {path}: {reason}. Set IMAGEGEN_HOME to a "
        "writable directory."
    )


class SqliteStore:
    """A store with its own connection. Use ``await Store.open(path)`` and ``aclose()``."""

    def __init__(self, conn: sqlite3.Connection, *, clock: Callable[[], float]) -> None:
        self._conn = conn
        self._clock = clock
        self._limiter = anyio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> Self:
        """Open (creating and migrating) the database at ``path``; ``StorageError`` says what to
        do when it cannot be opened."""
        return cls(await anyio.to_thread.run_sync(connect, path), clock=clock)

    async def aclose(self) -> None:
        await self._run(self._conn.close)

    async def _run(self, fn: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self._limiter)
        except sqlite3.Error as exc:
            raise StorageError(f"The state database failed: {exc}") from exc
