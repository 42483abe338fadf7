"""Reading a file only if what was opened lies inside given folders, and writing one only into
a folder that, as opened, lies inside them.

The check is made on the opened file, not on its name: a path is opened first (following
links), then the real path of the open descriptor is checked against the folders. So a name
swapped for a link between a check and the open can never hand out another file's bytes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Literal

Refusal = Literal["loop", "changed", "outside", "excluded", "not_a_file", "too_large", "exists"]


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


def write_confined(
    target: Path,
    data: bytes,
    roots: tuple[Path, ...],
    *,
    overwrite: bool,
    exclude: tuple[Path, ...] = (),
) -> Path:
    """Write ``data`` as the file ``target`` (absolute) if its folder lies inside one of
    ``roots`` and none of ``exclude`` (resolved folders), creating missing folders only inside
    them; the path written.

    The folders are judged as opened, like ``read_confined``: the deepest existing one is opened
    and its real path checked, missing ones are made and opened from it without following links,
    and the file is written through that open folder, so a link swapped in cannot move the write
    elsewhere. The bytes go to a temporary file first, then into place at once: ``os.replace``
    when ``overwrite``, else a hard link, which fails if the name exists (no race can clobber).

    Raises ``ConfinementError`` ("outside", "excluded", "not_a_file" for a folder on the way
    that is not one, "exists" for an existing file without ``overwrite``) or ``OSError``.
    """
    if os.open not in os.supports_dir_fd:  # pragma: no cover  # Windows: judged by name
        return _write_by_name(target, data, roots, overwrite=overwrite, exclude=exclude)
    folder, missing = target.parent, list[str]()
    while True:
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            break
        except FileNotFoundError:
            if folder.parent == folder:
                raise
            missing.insert(0, folder.name)
            folder = folder.parent
        except NotADirectoryError as exc:
            raise ConfinementError("not_a_file", f"{folder} is not a folder") from exc
    try:
        real = _opened_path(fd, folder)
        _check_folder(real, real.joinpath(*missing), roots, exclude)
        if _inside_any(fd, exclude):  # by identity too: the names may differ only in case
            raise ConfinementError("excluded", "inside a folder kept apart", real_path=real)
        for name in missing:  # each made and opened inside the one checked before it
            # One made meanwhile is opened like any other: never through a link.
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        _write_in(fd, target.name, data, overwrite=overwrite)
    finally:
        os.close(fd)
    return real.joinpath(*missing, target.name)


def _identities(folders: tuple[Path, ...]) -> set[tuple[int, int]]:
    """(device, inode) of each folder that exists."""
    marks = set()
    for folder in folders:
        with contextlib.suppress(OSError):
            info = os.stat(folder)
            marks.add((info.st_dev, info.st_ino))
    return marks


def _inside_any(fd: int, folders: tuple[Path, ...]) -> bool:
    """Whether the open folder ``fd`` is one of ``folders`` or inside one, judged by identity
    (device and inode, walking up through ``..``) rather than by name: on a case-insensitive
    disk ``IMAGES`` is ``images``, which a comparison of names would miss."""
    marks = _identities(folders)
    if not marks:
        return False
    current = os.dup(fd)
    try:
        for _ in range(4096):  # bounded: far deeper than any real path
            here = os.fstat(current)
            if (here.st_dev, here.st_ino) in marks:
                return True
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=current)
            up = os.fstat(parent)
            os.close(current)
            current = parent
            if (up.st_dev, up.st_ino) == (here.st_dev, here.st_ino):
                return False  # the root: its parent is itself
        return False
    finally:
        os.close(current)


def _check_folder(
    real: Path, final: Path, roots: tuple[Path, ...], exclude: tuple[Path, ...]
) -> None:
    if not any(real.is_relative_to(root) for root in roots):
        raise ConfinementError("outside", "outside the allowed folders", real_path=real)
    if any(final.is_relative_to(folder) for folder in exclude):
        raise ConfinementError("excluded", "inside a folder kept apart", real_path=final)


def _write_in(fd: int, name: str, data: bytes, *, overwrite: bool) -> None:
    """``data`` as ``name`` in the open folder ``fd``, all at once."""
    tmp = f".{name[:100]}.{secrets.token_hex(6)}.part"
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=fd)
    try:
        with os.fdopen(out, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            return
        try:
            os.link(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except FileExistsError as exc:
            raise ConfinementError("exists", "already exists") from exc
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _write_new(fd, name, data)  # FAT, some network shares: no link, still no clobber
    finally:
        with contextlib.suppress(FileNotFoundError):  # gone when replaced into place
            os.unlink(tmp, dir_fd=fd)


_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
)


def _write_new(fd: int, name: str, data: bytes) -> None:
    """``data`` as a new file ``name`` in the open folder ``fd``, refused if the name exists."""
    try:
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=fd)
    except FileExistsError as exc:
        raise ConfinementError("exists", "already exists") from exc
    with os.fdopen(out, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _write_by_name(  # pragma: no cover
    target: Path,
    data: bytes,
    roots: tuple[Path, ...],
    *,
    overwrite: bool,
    exclude: tuple[Path, ...],
) -> Path:
    """``write_confined`` where folders cannot be held open: checked by resolved name."""
    real = target.parent.resolve()
    _check_folder(real, real, roots, exclude)
    marks = _identities(exclude)  # by identity too, as on the other path: names may differ in case
    for folder in (real, *real.parents):
        with contextlib.suppress(OSError):
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in marks:
                raise ConfinementError("excluded", "inside a folder kept apart", real_path=real)
    real.mkdir(parents=True, exist_ok=True)
    written = real / target.name
    if written.exists() and not overwrite:
        raise ConfinementError("exists", "already exists")
    tmp = real / f".{target.name[:100]}.{secrets.token_hex(6)}.part"
    tmp.write_bytes(data)
    os.replace(tmp, written)
    return written
