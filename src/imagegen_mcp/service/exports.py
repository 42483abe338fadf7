"""Copies of saved results into the caller's folders (``save_image``): optionally converted and
downscaled, written only inside the allowed folders (or the client's roots), never over an
existing file unless asked.

The target's folder is judged as opened (``storage.confined.write_confined``): a link swapped in
cannot move the write elsewhere. Decoding and re-encoding run through the ``DecodeLimiter``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from imagegen_mcp.api.downloads import MAX_DOWNLOAD_BYTES
from imagegen_mcp.errors import InputError
from imagegen_mcp.imaging import NotAnImage, dimensions, probe, reencode
from imagegen_mcp.service.decoding import DecodeLimiter
from imagegen_mcp.storage.confined import ConfinementError, read_confined, write_confined

#: The formats a copy may take, by the name callers use, and the extensions each may carry.
EXPORT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SHOWN = 160


@dataclass(frozen=True)
class Exported:
    path: Path
    width: int
    height: int
    bytes: int
    format: str  # "png", "jpeg" or "webp"


def export_target(path: str, fmt: str | None) -> tuple[Path, str]:
    """The absolute, normalized path to write and the Pillow format, or an ``InputError``."""
    shown = repr(path if len(path) <= _SHOWN else path[:_SHOWN] + "...")
    if "\x00" in path:
        raise InputError(f"The path {shown} contains a NUL character: pass a plain path.")
    if not os.path.isabs(path):
        raise InputError(
            f"The path {shown} is relative: pass an absolute path (the server's working "
            "directory is not yours)."
        )
    if path.endswith(("/", os.sep)):
        raise InputError(f"The path {shown} names a folder: end it with a file name.")
    target = Path(os.path.normpath(path))
    suffix = target.suffix.lower()
    by_name = _EXTENSIONS.get(suffix)
    if suffix and by_name is None:
        raise InputError(
            f"The path {shown} ends in {suffix[:12]!r}: use .png, .jpg, .jpeg or .webp."
        )
    chosen = EXPORT_FORMATS[fmt] if fmt is not None else by_name
    if chosen is None:
        raise InputError(
            f"The path {shown} has no extension: end it in .png, .jpg or .webp, or pass format."
        )
    if by_name is not None and by_name != chosen:
        raise InputError(
            f"format {fmt!r} does not match the path's extension {suffix!r}: make them agree."
        )
    return target, chosen


async def export_image(
    data: bytes,
    target: Path,
    fmt: str,
    *,
    max_side: int | None,
    overwrite: bool,
    folders: tuple[Path, ...],
    output_dir: Path,
    decoder: DecodeLimiter,
) -> Exported:
    """Write ``data`` (a saved image) to ``target`` as ``fmt``, downscaled to ``max_side``.

    The saved bytes are copied as they are when nothing has to change (same format, already
    small enough, no EXIF rotation to apply); otherwise the image is re-encoded.
    """
    try:
        width, height = await anyio.to_thread.run_sync(dimensions, data)
        info = await decoder.run(width * height, lambda: probe(data))
        small = max_side is None or max(width, height) <= max_side
        if info.format == fmt and info.orientation == 1 and small:
            out, out_width, out_height = data, width, height
        else:
            pixels = width * height
            out, out_width, out_height = await decoder.run(
                pixels, lambda: reencode(data, fmt, max_side)
            )
    except NotAnImage as exc:  # a saved result always decodes; this is a damaged file
        raise InputError(f"The saved image cannot be read: {exc}.") from exc
    written = await anyio.to_thread.run_sync(_write, target, out, folders, output_dir, overwrite)
    name = next(key for key, value in EXPORT_FORMATS.items() if value == fmt)
    return Exported(written, out_width, out_height, len(out), name)


def _write(
    target: Path, data: bytes, folders: tuple[Path, ...], output_dir: Path, overwrite: bool
) -> Path:
    allowed = ", ".join(str(f) for f in folders) or "none"
    outside = InputError(
        f"{target} is outside the folders images may be saved to ({allowed}): pick a path "
        "inside one, or add its folder to IMAGEGEN_ALLOWED_DIRS."
    )
    try:
        # The output folder is the server's own: a copy there could replace a saved result.
        kept = (output_dir.resolve(),)
        return write_confined(target, data, folders, overwrite=overwrite, exclude=kept)
    except ConfinementError as exc:
        if exc.kind == "outside":
            raise outside from exc
        if exc.kind == "excluded":
            raise InputError(
                f"{target} is inside the output folder ({output_dir}), where results are kept: "
                "pick a path in your project instead."
            ) from exc
        if exc.kind == "exists":
            raise InputError(
                f"{target} already exists: pass overwrite=true to replace it, or another path."
            ) from exc
        raise InputError(f"Cannot save to {target}: {exc.reason}.") from exc
    except OSError as exc:
        # Say nothing of what lies outside the folders, not even whether it exists.
        if not any(_resolved(target.parent).is_relative_to(f) for f in folders):
            raise outside from exc
        raise InputError(f"Cannot save to {target}: {exc.strerror or exc}.") from exc


def read_saved(path: str, output_dir: Path) -> bytes:
    """The bytes of a saved result named by its absolute path, read only if the file opened
    lies inside the output folder (blocking: a worker thread)."""
    shown = repr(path if len(path) <= _SHOWN else path[:_SHOWN] + "...")
    not_saved = InputError(
        f"{shown} is not a saved result: pass its image:// URI, or the path of a file in the "
        f"output folder ({output_dir})."
    )
    if "\x00" in path or not os.path.isabs(path):
        raise not_saved
    try:
        data = read_confined(Path(path), (output_dir.resolve(),), MAX_DOWNLOAD_BYTES)
    except ConfinementError as exc:
        if exc.kind in ("outside", "loop"):
            raise not_saved from exc
        raise InputError(f"The saved file {shown} is {exc.reason}.") from exc
    except OSError as exc:
        if not _resolved(Path(path).parent).is_relative_to(output_dir.resolve()):
            raise not_saved from exc
        raise InputError(f"Cannot read {shown}: {exc.strerror or exc}.") from exc
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise InputError(f"The saved file {shown} is larger than any saved result.")
    return data


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop: judged by its name
        return path
