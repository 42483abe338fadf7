"""Which process owns a task's create, and whether that process has certainly ended.

A task is recorded as ``submitting`` before its create POST. If its process dies before the
answer is recorded, the task must be settled by another process: ``failed`` (never sent, safe to
send again under the same ``client_request_id``) or ``unknown`` (maybe created and charged: the
upstream has no idempotency key and no task list). Another live process sharing the store may be
mid-create, though, so a task is settled early only when its owner is provably gone. Anything
else waits for the poller's ``stale_submit`` age.

An owner is ``scope:pid:start``. The scope is a digest of the host name, the boot id and the
pid namespace, so that pids are only ever compared where they mean the same process: containers
sharing a data directory (or a host name) never judge each other's processes. ``start`` is the
process's start time, so a reused pid is not mistaken for the owner.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from functools import cache
from pathlib import Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process (Linux), or None."""
    stat = _read(f"/proc/{pid}/stat")
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat.rpartition(")")[2].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


@cache
def _scope() -> str:
    """Where pids are comparable: this host, this boot, this pid namespace."""
    try:
        pid_ns = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        pid_ns = ""
    boot = _read("/proc/sys/kernel/random/boot_id")
    raw = f"{socket.gethostname()}|{boot}|{pid_ns}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


@cache
def _can_judge() -> bool:
    """Whether another process's death can be proven here: on Linux only with the boot id and
    pid namespace readable (else containers sharing a host name would be confused); never on
    Windows, where signal 0 is not a probe."""
    if os.name == "nt":
        return False
    if sys.platform.startswith("linux"):
        return bool(_read("/proc/sys/kernel/random/boot_id")) and Path("/proc/self/ns/pid").exists()
    return True


def current_owner() -> str:
    """This process as ``scope:pid:start`` (start empty where it cannot be read)."""
    return _own(os.getpid())  # looked up per pid: a forked child is another owner


@cache
def _own(pid: int) -> str:
    return owner_of(pid)


def owner_of(pid: int) -> str:
    """The owner string of a running process in this scope (read now: pids are reused)."""
    stat = _stat(pid)
    return f"{_scope()}:{pid}:{stat[1] if stat else ''}"


def owner_gone(owner: str | None) -> bool:
    """True only when ``owner`` names a process in this scope that has certainly ended."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    scope, pid_text, start = parts
    if scope != _scope() or owner == current_owner() or not _can_judge():
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
    """This process as ``scope-pid-start``, for names of files only it may be writing."""
    return current_owner().replace(":", "-")


def file_tag_gone(tag: str) -> bool:
    """True when the process a ``file_tag`` names has certainly ended."""
    return owner_gone(tag.replace("-", ":"))
