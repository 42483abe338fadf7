"""Opening the state database."""

from __future__ import annotations

import threading
from pathlib import Path

from imagegen_mcp.storage.connect import connect


def test_processes_opening_a_new_database_at_the_same_moment_all_get_it(tmp_path: Path) -> None:
    # Switching a new file to WAL answers "database is locked" at once, busy timeout or not,
    # while another connection does the same: two servers (or the CLI beside one) starting on
    # a fresh home must both open it. Before the fix, about 1 trial in 6 failed.
    for trial in range(30):
        path = tmp_path / f"trial-{trial}" / "state.db"
        failures: list[BaseException] = []

        def open_it(path: Path = path, failures: list[BaseException] = failures) -> None:
            try:
                connect(path).close()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [], (trial, failures)
