"""Ordered, named schema migrations. Never edit one that has shipped: append a new one."""

from __future__ import annotations

import sqlite3
import time

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_tasks_and_images",
        """
        CREATE TABLE tasks (
            id                TEXT PRIMARY KEY,
            upstream_id       TEXT UNIQUE,
            client_request_id TEXT UNIQUE,
            callback_token    TEXT UNIQUE,
            kind              TEXT NOT NULL,
            prompt            TEXT NOT NULL,
            model             TEXT NOT NULL,
            size              TEXT NOT NULL,
            n                 INTEGER NOT NULL,
            image_urls        TEXT NOT NULL DEFAULT '[]',
            mask_url          TEXT,
            status            TEXT NOT NULL,
            progress          INTEGER NOT NULL DEFAULT 0,
            error_code        TEXT,
            error_message     TEXT,
            error_retryable   INTEGER,
            credits_reserved  REAL NOT NULL DEFAULT 0,
            estimated_time    REAL,
            result_urls       TEXT NOT NULL DEFAULT '[]',
            results_expire_at REAL,
            created_at        REAL NOT NULL,
            updated_at        REAL NOT NULL,
            submitted_at      REAL,
            completed_at      REAL
        );
        CREATE INDEX tasks_status ON tasks(status);
        CREATE INDEX tasks_created ON tasks(created_at);
        CREATE TABLE images (
            task_id           TEXT NOT NULL REFERENCES tasks(id),
            idx               INTEGER NOT NULL,
            path              TEXT NOT NULL,
            sha256            TEXT NOT NULL,
            width             INTEGER NOT NULL,
            height            INTEGER NOT NULL,
            bytes             INTEGER NOT NULL,
            mime_type         TEXT NOT NULL,
            remote_url        TEXT,
            remote_expires_at REAL,
            saved_at          REAL NOT NULL,
            PRIMARY KEY (task_id, idx)
        );
        """,
    ),
    (
        "0002_uploads_cache",
        """
        CREATE TABLE uploads (
            sha256     TEXT PRIMARY KEY,
            file_url   TEXT NOT NULL,
            mime_type  TEXT NOT NULL,
            bytes      INTEGER NOT NULL,
            expires_at REAL NOT NULL,
            created_at REAL NOT NULL
        );
        """,
    ),
    (
        "0003_task_owner_and_sent_at",
        """
        ALTER TABLE tasks ADD COLUMN owner TEXT;
        ALTER TABLE tasks ADD COLUMN sent_at REAL;
        """,
    ),
    (
        "0004_model_durations",
        """
        CREATE TABLE model_durations (
            model      TEXT PRIMARY KEY,
            ratio      REAL NOT NULL,
            samples    INTEGER NOT NULL,
            updated_at REAL NOT NULL
        );
        """,
    ),
    (
        "0005_request_tier_quality_options",
        """
        ALTER TABLE tasks ADD COLUMN resolution TEXT;
        ALTER TABLE tasks ADD COLUMN quality TEXT;
        ALTER TABLE tasks ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
        """,
    ),
    (
        "0006_mcp_task_handles",
        """
        CREATE TABLE mcp_task_handles (
            id           TEXT PRIMARY KEY,
            task_id      TEXT REFERENCES tasks(id),
            tool         TEXT NOT NULL,
            creator      TEXT NOT NULL,
            session      TEXT,
            preview      TEXT NOT NULL,
            error        TEXT,
            created_at   REAL NOT NULL,
            ttl_ms       INTEGER NOT NULL,
            expires_at   REAL NOT NULL,
            cancelled_at REAL
        );
        CREATE INDEX mcp_task_handles_creator ON mcp_task_handles(creator, created_at);
        CREATE INDEX mcp_task_handles_expires ON mcp_task_handles(expires_at);
        """,
    ),
    (
        # A handle's failure, kept as first reported: an MCP task that ended stays ended even
        # when our task goes on (a never-sent create sent again, an unknown one found after all).
        "0007_mcp_task_handle_failure",
        """
        ALTER TABLE mcp_task_handles ADD COLUMN failed_message TEXT;
        ALTER TABLE mcp_task_handles ADD COLUMN failed_at REAL;
        """,
    ),
]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; return their names."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    applied: list[str] = []
    for name, sql in MIGRATIONS:
        # The connection is in autocommit mode; an explicit transaction makes DDL atomic too,
        # so a failed migration leaves nothing half-applied. The applied set is re-read inside
        # the write lock: several processes may open a new database at the same moment.
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone()
            if done is None:
                for statement in filter(str.strip, sql.split(";")):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time())
                )
                applied.append(name)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return applied
