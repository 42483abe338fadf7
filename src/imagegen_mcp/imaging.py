"""Pillow helpers shared by the layers: identify and fully decode images.

Pillow is imported inside the functions, never at module import, to keep start-up fast.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}


class NotAnImage(ValueError):
    """The data is not a complete PNG, JPEG or WebP image."""


class TooManyPixels(NotAnImage):
    """The image declares more pixels than is safe to decode (a decompression bomb)."""


#: Larger images are refused before decoding (50 MP of RGBA is already 200 MB of pixels);
#: Pillow itself only refuses above about 179 MP.
MAX_PIXELS = 50_000_000

_OBJECT_REPR = re.compile(r"\s*<[^<>]* object at 0x[0-9a-fA-F]+>")


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int

    @property
    def mime_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


def probe(source: bytes | Path) -> ImageInfo:
    """Identify and fully decode ``source``; raises ``NotAnImage`` for anything else.

    A full decode (not just ``verify``) catches truncated and corrupt data.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        fp = io.BytesIO(source) if isinstance(source, bytes) else source
        with Image.open(fp) as img:
            fmt = img.format or ""
            if img.width * img.height > MAX_PIXELS:
                raise TooManyPixels(
                    f"{img.width}x{img.height} is more than {MAX_PIXELS // 1_000_000} megapixels"
                )
            img.load()
            width, height = img.size
    except TooManyPixels:
        raise
    except Image.DecompressionBombError as exc:
        raise TooManyPixels("too many pixels to decode safely") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow names its in-memory file object ("<_io.BytesIO object at 0x...>"): drop it.
        raise NotAnImage(f"not a readable image ({_OBJECT_REPR.sub('', str(exc))})") from exc
    if fmt not in FORMATS:
        raise NotAnImage(f"unsupported image format {fmt or 'unknown'!r} (use PNG, JPEG or WebP)")
    return ImageInfo(fmt, width, height)
