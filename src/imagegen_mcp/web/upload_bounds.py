"""How the playground's uploads folder stays bounded.

It is pruned on each new upload: first every upload not used for ``Bounds.max_idle`` (7 days),
then, the least recently used first, until the folder holds at most ``Bounds.max_bytes``
(1 GB). An upload is "used" when it is stored, uploaded again or read for a request: its
modification time. Never pruned: the ones in ``keep`` (the caller's: the file just stored, files
a request is reading, files an open task was made from). Left-over partial writes (a crash
mid-write) older than an hour go too. Only this store's own names are ever touched, and links
are neither followed nor removed.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from imagegen_mcp.imaging import FORMATS

DAY = 24 * 3600.0
_PART_MAX_AGE = 3600.0
_NAME = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z]+)$")
_EXTENSIONS = frozenset(ext for _mime, ext in FORMATS.values())


@dataclass(frozen=True)
class Bounds:
    #: Seconds an upload may stay unused before it is pruned.
    max_idle: float = 7 * DAY
    #: The most the folder holds after a prune (the protected files may exceed it alone).
    max_bytes: int = 1024 * 1024 * 1024


def prune(folder: Path, keep: Collection[str], bounds: Bounds, now: float) -> list[Path]:
    """Remove what ``bounds`` says must go from ``folder``, never a sha256 in ``keep``; the
    paths removed."""
    found: list[tuple[float, str, Path, int]] = []
    removed: list[Path] = []
    try:
        paths = list(folder.iterdir())
    except FileNotFoundError:
        return removed
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        name = path.name
        if name.startswith(".upload-") and name.endswith(".part"):
            if now - info.st_mtime > _PART_MAX_AGE:
                path.unlink(missing_ok=True)
                removed.append(path)
            continue
        match = _NAME.match(name)
        if match is None or match["ext"] not in _EXTENSIONS:
            continue  # not an upload of ours
        found.append((info.st_mtime, match["sha"], path, info.st_size))
    found.sort()  # the least recently used first
    total = sum(size for *_rest, size in found)
    for used, sha, path, size in found:
        if sha in keep:
            continue
        if now - used <= bounds.max_idle and total <= bounds.max_bytes:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed
