"""Saving result images: stream to a temp file, verify, fsync, atomic rename, JSON sidecar.

The bytes on disk are exactly what the upstream served (never re-encoded). A file that does not
decode completely is refused (``DownloadError``, retryable) so a truncated download is never saved.
Only this module writes into the output directory, and never outside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import anyio.to_thread

from imagegen_mcp.errors import DownloadError, StorageError
from imagegen_mcp.imaging import ImageInfo, NotAnImage, probe
from imagegen_mcp.models import SavedImage, Task
from imagegen_mcp.storage.confined import ConfinementError, read_confined
from imagegen_mcp.storage.owner import file_tag, file_tag_gone

PARTIAL_DIR = ".partial"
_STALE_PARTIAL_SECONDS = 3600.0
DECODE_SLOTS = 2


class TempFileSink:
    """A download target in the output directory's partial folder; hashes as it writes."""

    def __init__(self, directory: Path, on_error: Callable[[OSError], StorageError]) -> None:
        self._file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed in commit/discard
            dir=directory, prefix=f"dl-{file_tag()}-", suffix=".part", delete=False
        )
        self.path = Path(self._file.name)
        self._on_error = on_error  # a full disk is a storage error, reported on the task
        self._hash = hashlib.sha256()
        self.size = 0

    def reset(self) -> None:
        try:
            self._file.seek(0)
            self._file.truncate()
        except OSError as exc:
            raise self._on_error(exc) from exc
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise self._on_error(exc) from exc
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def finish(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def _probe(path: Path) -> ImageInfo:
    try:
        return probe(path)
    except NotAnImage as exc:
        raise DownloadError(f"The downloaded image is corrupt or truncated: {exc}.") from exc


class ImageSaver:
    """Writes verified images under ``output_dir`` as ``<YYYY-MM-DD>/<task-id>-<index>.<ext>``."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self._partial = output_dir / PARTIAL_DIR
        # Verifying decodes the whole image (tens of MB of pixels for a large one); a few at a
        # time keep the peak memory flat when many tasks finish together.
        self._decodes = anyio.CapacityLimiter(DECODE_SLOTS)

    async def prepare(self) -> None:
        """Create the directories and clear partial downloads left by a crash.

        A partial file is named after the process writing it: one whose process has ended is
        removed at once; another process sharing the directory may still be writing the rest,
        which are only removed once untouched for an hour.
        """

        def _prepare() -> None:
            self._partial.mkdir(parents=True, exist_ok=True)
            cutoff = time.time() - _STALE_PARTIAL_SECONDS
            for leftover in self._partial.glob("dl-*.part"):
                tag = leftover.name.removeprefix("dl-").rpartition("-")[0]  # drop the random part
                try:
                    if file_tag_gone(tag) or leftover.stat().st_mtime < cutoff:
                        leftover.unlink(missing_ok=True)
                except FileNotFoundError:
                    continue  # another live process finished (renamed) it meanwhile

        try:
            await anyio.to_thread.run_sync(_prepare)
        except OSError as exc:
            raise self._storage_error(exc, saving=False) from exc

    def new_sink(self) -> TempFileSink:
        try:
            self._partial.mkdir(parents=True, exist_ok=True)
            return TempFileSink(self._partial, self._storage_error)
        except OSError as exc:
            raise self._storage_error(exc) from exc

    async def commit(
        self,
        sink: TempFileSink,
        *,
        task: Task,
        index: int,
        remote_url: str | None,
        remote_expires_at: datetime | None,
    ) -> SavedImage:
        """Verify and move a finished download into place; the sink is consumed either way."""

        def _commit() -> SavedImage:
            try:
                sink.finish()
                info = _probe(sink.path)
                target = self.task_dir(task) / f"{task.id}-{index}.{info.extension}"
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(sink.path, target)
                _fsync_dir(target.parent)
            except OSError as exc:
                raise self._storage_error(exc) from exc
            finally:
                sink.discard()
            return SavedImage(
                index=index,
                path=str(target),
                sha256=sink.sha256,
                width=info.width,
                height=info.height,
                bytes=sink.size,
                mime_type=info.mime_type,
                remote_url=remote_url,
                remote_expires_at=remote_expires_at,
            )

        return await anyio.to_thread.run_sync(_commit, limiter=self._decodes)

    async def write_sidecar(self, task: Task) -> Path:
        """``<task-id>.json`` beside the images: the prompt, parameters and saved files."""
        record: dict[str, Any] = {
            "task_id": task.id,
            "upstream_id": task.upstream_id,
            "created_at": task.created_at.isoformat(),
            "completed_at": task.completed_at.isoformat() if task.completed_at else None,
            **task.request.model_dump(mode="json"),
            "credits_reserved": task.credits_reserved,
            "images": [img.model_dump(mode="json") for img in task.images],
        }

        def _write() -> Path:
            target = self.task_dir(task) / f"{task.id}.json"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".json.part")
                # Owner-only, like the images: it holds the prompt and the upload links.
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(json.dumps(record, indent=2, ensure_ascii=False))
                os.replace(tmp, target)
            except OSError as exc:
                raise self._storage_error(exc) from exc
            return target

        return await anyio.to_thread.run_sync(_write)

    async def read(self, image: SavedImage) -> bytes:
        """The saved bytes, exactly as saved, read only if the file opened lies inside the
        output folder; else ``StorageError`` saying the file is missing or damaged."""

        def _read() -> bytes:
            data, problem = self._load(image)
            if problem is not None:
                raise StorageError(f"The saved file {image.path} is {problem}.")
            return data

        return await anyio.to_thread.run_sync(_read)

    async def check(self, image: SavedImage) -> str | None:
        """Why a saved image can no longer be served as saved ("missing", "damaged"), or None."""
        return (await anyio.to_thread.run_sync(self._load, image))[1]

    def _load(self, image: SavedImage) -> tuple[bytes, str | None]:
        """The saved bytes and None, or what is wrong with the file (worker thread only)."""
        try:
            data = read_confined(Path(image.path), (self.output_dir.resolve(),), image.bytes)
        except FileNotFoundError:
            return b"", "missing"
        except (ConfinementError, OSError):  # a link out, not a file, grown, unreadable
            return b"", "damaged"
        if len(data) != image.bytes or hashlib.sha256(data).hexdigest() != image.sha256:
            return b"", "damaged"
        return data, None

    def task_dir(self, task: Task) -> Path:
        return self.output_dir / task.created_at.astimezone().strftime("%Y-%m-%d")

    def _storage_error(self, exc: OSError, *, saving: bool = True) -> StorageError:
        later = (
            "; the task stays retrievable with get_task while its links are valid" if saving else ""
        )
        return StorageError(
            f"Cannot save images in {self.output_dir}: {exc.strerror or exc}. Free disk space or "
            f"set IMAGEGEN_OUTPUT_DIR to a writable directory{later}."
        )


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
