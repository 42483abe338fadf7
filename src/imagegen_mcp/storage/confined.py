"""Reading a file only if what was opened lies inside given folders.

The check is made on the opened file, not on its name: a path is opened first (following
links), then the real path of the open descriptor is checked against the folders. So a name
swapped for a link between a check and the open can never hand out another file's bytes.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path
from typing import Literal

Refusal = Literal["loop", "changed", "outside", "not_a_file", "too_large"]


class ConfinementError(Exception):
    """The file cannot be read from these folders: ``kind`` says which way, ``reason`` says
    it in a few words."""

    def __init__(self, kind: Refusal, reason: str, *, real_path: Path | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.real_path = real_path


def _opened_path(fd: int, path: Path) -> Path:
    """The real path of the file open as ``fd``."""
    if sys.platform.startswith("linux"):
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    # Elsewhere: resolve the name now and require it to still be the file we hold open.
    resolved = path.resolve()
    opened, named = os.fstat(fd), os.stat(resolved)
    if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
        raise ConfinementError("changed", "changed while it was being opened")
    return resolved


def read_confined(path: Path, roots: tuple[Path, ...], limit: int) -> bytes:
    """The bytes of ``path`` (at most ``limit`` + 1 of them: more means too large) if the file
    opened is a regular file inside one of ``roots`` (resolved folders).

    Raises ``ConfinementError`` (outside, not a file, a link loop, too large) or ``OSError``.
    """
    try:
        # O_NONBLOCK: a FIFO planted under the name must not hang the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfinementError("loop", "a symbolic link loop") from exc
        raise
    try:
        info = os.fstat(fd)
        real = _opened_path(fd, path)
        if not any(real.is_relative_to(root) for root in roots):
            raise ConfinementError("outside", "outside the allowed folders", real_path=real)
        if not stat.S_ISREG(info.st_mode):
            raise ConfinementError("not_a_file", "not a regular file", real_path=real)
        if info.st_size > limit:
            raise ConfinementError("too_large", f"{info.st_size / 1e6:.1f} MB", real_path=real)
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)
