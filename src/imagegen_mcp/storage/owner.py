"""Which process owns a task's create, and whether that process is still alive.

A task is recorded as ``submitting`` before its create POST. If the process dies before the
answer is recorded, nobody can know whether the task was created (the upstream has no idempotency
key and no task list), so the task is declared ``unknown``. Another live process sharing the
store may be mid-create, though, so a task is only settled early when its owner is provably
gone: same host, and no process with that pid and start time. Anything else waits for the
poller's ``stale_submit`` age.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat.rpartition(")")[2].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[1] if stat else None


def current_owner() -> str:
    """This process as ``host:pid:start`` (start empty where it cannot be read)."""
    return owner_of(os.getpid())  # looked up per pid: a forked child is another owner


@cache
def owner_of(pid: int) -> str:
    """The owner string of a running process on this host."""
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def owner_gone(owner: str | None) -> bool:
    """True only when ``owner`` names a process on this host that has certainly ended."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid_text, start = parts
    if host != socket.gethostname() or owner == current_owner():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but is not ours to signal
        pass
    # Something runs under this pid: it is the owner only if the start time matches (pids are
    # reused), and a zombie (killed, not yet reaped by its parent) has ended all the same.
    stat = _stat(pid)
    if stat is None or not start:
        return False
    state, now_start = stat
    return now_start != start or state in ("Z", "X")


def file_tag() -> str:
    """This process as ``pid-start``, for names of files only it may be writing."""
    _, pid, start = current_owner().rsplit(":", 2)
    return f"{pid}-{start}"


def file_tag_gone(tag: str) -> bool:
    """True when the process a ``file_tag`` names has certainly ended."""
    pid, _, start = tag.partition("-")
    return owner_gone(f"{socket.gethostname()}:{pid}:{start}")
