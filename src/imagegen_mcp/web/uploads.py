"""The playground's uploaded images: checked, then stored content-addressed.

An upload is kept only if it is a real PNG, JPEG or WebP that decodes in full (through the
server's ``DecodeLimiter``, like every caller-supplied image), at most ``MAX_UPLOAD_BYTES``.
It is stored as ``<uploads folder>/<sha256>.<ext>``: under the server's home, never in the
output folder, written to a temporary name and renamed, so a reader never sees half a file.
The same bytes uploaded twice are one file. An ``upload:<sha256>`` reference names it; the
requests read it from there through ``ImageInputs`` (confined to the folder like any local file).

Each new upload prunes the folder to its bounds (``web.upload_bounds`` says which), but never
an upload a request is reading now (``reading``) or one an open task of this process was made
from (``made``). Every file access runs on a worker thread, off the event loop.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from imagegen_mcp.errors import TaskNotFound
from imagegen_mcp.imaging import FORMATS, NotAnImage, TooManyPixels, dimensions, probe
from imagegen_mcp.service.decoding import DecodeLimiter
from imagegen_mcp.web.errors import WebError
from imagegen_mcp.web.upload_bounds import Bounds, prune

if TYPE_CHECKING:
    from imagegen_mcp.models import Task
    from imagegen_mcp.service.engine import TaskEngine

#: The largest upload kept (the upstream's own playground takes files up to 10 MB).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024

UPLOAD_PREFIX = "upload:"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTENSIONS = tuple(ext for _mime, ext in FORMATS.values())
_MIME = {ext: mime for mime, ext in FORMATS.values()}


@dataclass(frozen=True)
class Upload:
    id: str  # sha256 of the bytes
    name: str
    width: int
    height: int
    mime_type: str
    bytes: int

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "mime_type": self.mime_type,
            "bytes": self.bytes,
        }


class UploadStore:
    """Uploaded images in ``folder`` (made on first use, private to this user)."""

    def __init__(self, folder: Path, bounds: Bounds | None = None) -> None:
        self.folder = folder
        self.bounds = bounds or Bounds()
        self._reading: Counter[str] = Counter()  # sha256 -> requests reading it now
        self._made_from: dict[str, frozenset[str]] = {}  # task id -> the uploads it was made from
        self._lock: anyio.Lock | None = None

    async def add(
        self, name: str, data: bytes, decoder: DecodeLimiter, engine: TaskEngine | None = None
    ) -> Upload:
        """Check ``data`` and store it, then prune the folder (``engine`` tells which tasks are
        still open); ``WebError`` 415 for anything but a usable image."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise WebError(413, "The file is larger than 10 MB: downscale or re-encode it.")
        if not data:
            raise WebError(400, "The file is empty: pick a PNG, JPEG or WebP image.")
        try:
            width, height = await anyio.to_thread.run_sync(dimensions, data)
            info = await decoder.run(width * height, lambda: probe(data))
        except TooManyPixels:
            raise WebError(
                400,
                f"{name} has too many pixels to open safely: downscale it (a few megapixels "
                "are plenty) and upload it again.",
            ) from None
        except NotAnImage as exc:
            raise WebError(
                415, f"{name} is not a usable image ({exc}): upload a PNG, JPEG or WebP file."
            ) from None
        sha = hashlib.sha256(data).hexdigest()
        await anyio.to_thread.run_sync(self._write, sha, info.extension, data)
        await self.prune(engine, keep=sha)
        return Upload(sha, name, info.width, info.height, info.mime_type, len(data))

    def _guard(self) -> anyio.Lock:
        if self._lock is None:  # made in the event loop, on first use
            self._lock = anyio.Lock()
        return self._lock

    async def prune(self, engine: TaskEngine | None, *, keep: str | None = None) -> list[Path]:
        """Bound the folder (``upload_bounds``), keeping ``keep``, the uploads being read and
        those of tasks still open; the paths removed."""
        async with self._guard():
            kept = {*self._reading, *([keep] if keep else [])}
            for task_id, shas in list(self._made_from.items()):
                if engine is not None and await _is_open(engine, task_id):
                    kept |= shas
                else:
                    del self._made_from[task_id]
            return await anyio.to_thread.run_sync(
                prune, self.folder, kept, self.bounds, time.time()
            )

    @asynccontextmanager
    async def reading(self, refs: Iterable[str | None]) -> AsyncIterator[None]:
        """While a request reads ``refs``: the uploads among them are not pruned, and count as
        used now. Taken before the refs are resolved, so a prune either ran before (a pruned
        file is "not an upload here") or sees them."""
        shas = Counter(sha for sha in (_sha_of(ref) for ref in refs) if sha)
        async with self._guard():
            self._reading += shas
        try:
            await anyio.to_thread.run_sync(self._touch_all, list(shas))
            yield
        finally:
            self._reading -= shas

    def _touch_all(self, shas: Iterable[str]) -> None:
        for sha in shas:
            _touch(self.path_of(sha))

    def made(self, task: Task, refs: Iterable[str | None]) -> None:
        """``task`` was made from ``refs``: their uploads are kept while it is open."""
        shas = frozenset(sha for sha in (_sha_of(ref) for ref in refs) if sha)
        if shas and not task.is_terminal:
            self._made_from[task.id] = shas

    def _write(self, sha: str, extension: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.folder / f"{sha}.{extension}"
        if target.is_file() and not target.is_symlink():
            _touch(target)  # the same bytes, stored before: used again now
            return
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def path_of(self, upload_id: str) -> Path | None:
        """The stored file of ``upload_id``, or None when there is none (or the id is not a
        sha256: nothing else is ever looked up, so no name can reach outside the folder)."""
        if not _SHA256.match(upload_id):
            return None
        for extension in _EXTENSIONS:
            path = self.folder / f"{upload_id}.{extension}"
            if path.is_file():
                return path
        return None

    def mime_type(self, path: Path) -> str:
        return _MIME[path.suffix.lstrip(".")]

    async def resolve_ref(self, ref: str, what: str) -> str:
        """A reference the page sent as ``ImageInputs`` reads it: ``upload:<sha256>`` as the
        stored file's path, ``image://<task_id>/<index>`` as it is. Anything else is refused:
        the page names no other files."""
        ref = ref.strip()
        if ref.startswith(UPLOAD_PREFIX):
            sha = ref.removeprefix(UPLOAD_PREFIX)
            path = await anyio.to_thread.run_sync(self.path_of, sha)
            if path is None:
                raise WebError(
                    400, f"The {what} {ref[:80]!r} is not an upload here: upload the file again."
                )
            return str(path)
        if ref.startswith("image://"):
            return ref
        raise WebError(
            400,
            f"The {what} {ref[:80]!r} is not one the page can send: use 'upload:<id>' from "
            "/api/uploads or 'image://<task_id>/<index>' of a result.",
        )


def _sha_of(ref: str | None) -> str | None:
    """The sha256 an ``upload:`` reference names, else None."""
    if ref is None or not ref.strip().startswith(UPLOAD_PREFIX):
        return None
    sha = ref.strip().removeprefix(UPLOAD_PREFIX)
    return sha if _SHA256.match(sha) else None


def _touch(path: Path | None) -> None:
    """Mark an upload as used now (its modification time), if it is still there."""
    if path is not None:
        with suppress(FileNotFoundError):
            os.utime(path)


async def _is_open(engine: TaskEngine, task_id: str) -> bool:
    try:
        return not (await engine.get(task_id)).is_terminal
    except TaskNotFound:
        return False
