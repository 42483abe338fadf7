"""The playground's uploaded images: checked, then stored content-addressed.

An upload is kept only if it is a real PNG, JPEG or WebP that decodes in full (through the
server's ``DecodeLimiter``, like every caller-supplied image), at most ``MAX_UPLOAD_BYTES``.
It is stored as ``<uploads folder>/<sha256>.<ext>``: under the server's home, never in the
output folder, written to a temporary name and renamed, so a reader never sees half a file.
The same bytes uploaded twice are one file. An ``upload:<sha256>`` reference names it; the
requests read it from there through ``ImageInputs`` (confined to the folder like any local file).

The folder is bounded: past ``MAX_STORED_FILES`` files or ``MAX_STORED_BYTES`` bytes, the
uploads used least recently (stored or uploaded again) are deleted, so neither a person's
years of references nor a script posting distinct images fills the disk. A page still holding
a deleted one's reference is told to upload it again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from imagegen_mcp.imaging import FORMATS, NotAnImage, TooManyPixels, dimensions, probe
from imagegen_mcp.service.decoding import DecodeLimiter
from imagegen_mcp.web.errors import WebError

#: The largest upload kept (the upstream's own playground takes files up to 10 MB).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: The most the uploads folder keeps; the least recently used go first.
MAX_STORED_FILES = 1000
MAX_STORED_BYTES = 1024 * 1024 * 1024

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

    def __init__(
        self,
        folder: Path,
        *,
        max_files: int = MAX_STORED_FILES,
        max_bytes: int = MAX_STORED_BYTES,
    ) -> None:
        self.folder = folder
        self.max_files = max_files
        self.max_bytes = max_bytes

    async def add(self, name: str, data: bytes, decoder: DecodeLimiter) -> Upload:
        """Check ``data`` and store it; ``WebError`` 415 for anything but a usable image."""
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
        return Upload(sha, name, info.width, info.height, info.mime_type, len(data))

    def _write(self, sha: str, extension: str, data: bytes) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.folder / f"{sha}.{extension}"
        if target.is_file() and not target.is_symlink():
            os.utime(target)  # the same bytes, stored before: used again now
            self._prune(keep=target)
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
        self._prune(keep=target)

    def _prune(self, keep: Path) -> None:
        """Delete the least recently used uploads past the folder's bounds (never ``keep``)."""
        stored = []
        for path in self.folder.iterdir():
            if path.suffix.lstrip(".") in _MIME and _SHA256.match(path.stem):
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue  # deleted meanwhile
                stored.append((info.st_mtime, path, info.st_size))
        stored.sort()
        files, total = len(stored), sum(size for _mtime, _path, size in stored)
        for _mtime, path, size in stored:
            if files <= self.max_files and total <= self.max_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                files, total = files - 1, total - size

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

    def resolve_ref(self, ref: str, what: str) -> str:
        """A reference the page sent as ``ImageInputs`` reads it: ``upload:<sha256>`` as the
        stored file's path, ``image://<task_id>/<index>`` as it is. Anything else is refused:
        the page names no other files."""
        ref = ref.strip()
        if ref.startswith(UPLOAD_PREFIX):
            path = self.path_of(ref.removeprefix(UPLOAD_PREFIX))
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
