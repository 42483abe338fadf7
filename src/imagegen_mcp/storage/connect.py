"""Opening the state database: private to its owner, in WAL mode, migrated, and a clear
error that says what to do when it cannot be opened."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from imagegen_mcp.errors import StorageError
from imagegen_mcp.storage.migrations import migrate


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
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def _unwritable(path: Path, exc: Exception) -> StorageError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return StorageError(
        f"Cannot open the state database at {path}: {reason}. Set IMAGEGEN_HOME to a "
        "writable directory."
    )
