"""Pillow helpers shared by the layers: identify and fully decode images.

Pillow is imported inside the functions, never at module import, to keep start-up fast.
"""

from __future__ import annotations

import functools
import io
import os
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}

#: Formats Pillow names that are read as one of ``FORMATS``. A multi-picture camera JPEG (MPO)
#: starts with an ordinary JPEG, the picture its viewers show; ``single_picture`` cuts it out.
_ALIASES = {"MPO": "JPEG"}
_SOS, _APP2 = 0xDA, 0xE2

#: The EXIF tag that says how to rotate or flip the stored pixels for display.
_ORIENTATION = 0x0112


class NotAnImage(ValueError):
    """The data is not a complete PNG, JPEG or WebP image."""


class TooManyPixels(NotAnImage):
    """The image declares more pixels than is safe to decode (a decompression bomb)."""


#: Larger images are refused before decoding (50 MP of RGBA is already 200 MB of pixels);
#: Pillow itself only refuses above about 179 MP.
MAX_PIXELS = 50_000_000

#: Pillow keeps pixels in blocks of this size (its default is 16 MiB). Above glibc's largest
#: mmap threshold (32 MiB), each block of a large image is a mapping of its own, handed back to the
#: system as soon as the image is freed; 16 MiB blocks are kept by malloc's per-thread arenas, so
#: decodes in several worker threads left hundreds of megabytes behind.
_PILLOW_BLOCK_BYTES = 64 * 1024 * 1024

_OBJECT_REPR = re.compile(r"\s*<[^<>]* object at 0x[0-9a-fA-F]+>")


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int  # as stored, before any EXIF orientation
    height: int
    orientation: int = 1  # EXIF orientation: 1 = shown as stored; 5-8 swap width and height

    @property
    def mime_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


@functools.cache
def _configure_pillow() -> None:
    from PIL import _imaging

    if "PILLOW_BLOCK_SIZE" not in os.environ:  # an operator's own choice wins
        _imaging.set_block_size(_PILLOW_BLOCK_BYTES)


def _format(name: str | None) -> str:
    fmt = _ALIASES.get(name or "", name or "")
    if fmt not in FORMATS:
        raise NotAnImage(f"unsupported image format {fmt or 'unknown'!r} (use PNG, JPEG or WebP)")
    return fmt


@contextmanager
def _refused_as_not_an_image() -> Iterator[None]:
    """Whatever Pillow raises for data that is not a usable image, as ``NotAnImage``."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except NotAnImage:
        raise
    except Image.DecompressionBombError as exc:
        raise TooManyPixels("too many pixels to decode safely") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow names its in-memory file object ("<_io.BytesIO object at 0x...>"): drop it.
        raise NotAnImage(f"not a readable image ({_OBJECT_REPR.sub('', str(exc))})") from exc


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise TooManyPixels(f"{width}x{height} is more than {MAX_PIXELS // 1_000_000} megapixels")


def dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone, without decoding any pixel: what a decode of
    ``data`` will cost. Raises ``NotAnImage`` (``TooManyPixels`` over ``MAX_PIXELS``)."""
    _configure_pillow()
    from PIL import Image

    with _refused_as_not_an_image(), Image.open(io.BytesIO(data)) as img:
        _format(img.format)
        _check_pixels(img.width, img.height)
        return img.size


def single_picture(data: bytes) -> bytes:
    """``data`` itself, or for a multi-picture JPEG (MPO) its first picture as a plain JPEG.

    The first picture is cut out byte for byte (no re-encoding, so no loss) and its multi-picture
    index dropped: uploaded whole, the file says "MPO" to format sniffers that accept only plain
    JPEG, and carries pictures (a second view, a preview) nobody asked to send.
    """
    _configure_pillow()
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "MPO":
                return data
            size = int(img.mpinfo[0xB002][0]["Size"])  # type: ignore[attr-defined]
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, LookupError, TypeError):
        return data  # not an MPO Pillow can index: ``dimensions`` and ``probe`` judge it
    if not 4 <= size <= len(data):
        return data
    return _without_multi_picture_index(data[:size])


def _without_multi_picture_index(jpeg: bytes) -> bytes:
    """``jpeg`` without its APP2 "MPF" segments (they list pictures no longer there)."""
    out = bytearray(jpeg[:2])
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and jpeg[pos + 1] != _SOS:
        end = pos + 2 + int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        if not (jpeg[pos + 1] == _APP2 and jpeg[pos + 4 : pos + 8] == b"MPF\0"):
            out += jpeg[pos:end]
        pos = end
    return bytes(out + jpeg[pos:])


def probe(source: bytes | Path) -> ImageInfo:
    """Identify and fully decode ``source``; raises ``NotAnImage`` for anything else.

    A full decode (not just ``verify``) catches truncated and corrupt data.
    """
    _configure_pillow()
    from PIL import Image

    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    with _refused_as_not_an_image(), Image.open(fp) as img:
        fmt = _format(img.format)
        _check_pixels(img.width, img.height)
        turn = orientation(img)
        img.load()
        width, height = img.size
    return ImageInfo(fmt, width, height, turn)


def orientation(img: PILImage) -> int:
    """The EXIF orientation (1-8), 1 when absent or unreadable: a broken EXIF block does not
    make the pixels unusable."""
    try:
        value = img.getexif().get(_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, struct.error):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def reencode(data: bytes, fmt: str, max_side: int | None = None) -> tuple[bytes, int, int]:
    """``data`` as a ``fmt`` image (a key of ``FORMATS``) shown as its EXIF orientation says,
    downscaled so its longest side is at most ``max_side`` (never upscaled); the bytes, width
    and height. A JPEG of an image with transparency is laid on white."""
    _configure_pillow()
    from PIL import Image, ImageOps

    with _refused_as_not_an_image(), Image.open(io.BytesIO(data)) as opened:
        _format(opened.format)
        _check_pixels(opened.width, opened.height)
        img = ImageOps.exif_transpose(opened)
        img.load()
    if max_side is not None and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if fmt == "JPEG" and img.mode != "RGB":
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    elif img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    out = io.BytesIO()
    options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    img.save(out, format=fmt, **options)
    return out.getvalue(), img.width, img.height
