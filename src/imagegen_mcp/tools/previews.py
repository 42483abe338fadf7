"""Small previews that fit an agent's context: a JPEG thumbnail within a byte budget."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio.to_thread

PreviewMode = Literal["thumbnail", "full", "none"]


@dataclass(frozen=True)
class PreviewPolicy:
    """``max_bytes`` bounds the base64 text the agent receives, not the raw JPEG."""

    max_bytes: int = 48 * 1024
    max_side: int = 512


@dataclass(frozen=True)
class Preview:
    data_b64: str
    mime_type: str
    bytes: int


def _thumbnail(path: Path, policy: PreviewPolicy) -> Preview | None:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        rgb = img.convert("RGB")
    side = policy.max_side
    # Shrink until the JPEG fits: quality first, then size, so small budgets still get a picture.
    while side >= 32:
        thumb = rgb.copy()
        thumb.thumbnail((side, side))
        for quality in (85, 70, 55, 40):
            buf = io.BytesIO()
            thumb.save(buf, format="JPEG", quality=quality, optimize=True)
            encoded = base64.b64encode(buf.getvalue()).decode()
            if len(encoded) <= policy.max_bytes:
                return Preview(encoded, "image/jpeg", buf.tell())
        side = int(side * 0.7)
    return None


async def make_preview(
    path: Path, mime_type: str, mode: PreviewMode, policy: PreviewPolicy
) -> Preview | None:
    """A preview of a saved image, or None when off or when nothing fits the budget."""
    if mode == "none" or policy.max_bytes <= 0:
        return None
    if mode == "full":
        data = await anyio.Path(path).read_bytes()
        return Preview(base64.b64encode(data).decode(), mime_type, len(data))
    return await anyio.to_thread.run_sync(_thumbnail, path, policy)
