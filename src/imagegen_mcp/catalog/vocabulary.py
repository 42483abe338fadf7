"""The vocabulary every model is described in: tiers, qualities, sizes. Plain constants and
parsers, cheap to import (the specs' pydantic classes load only when the catalog is read)."""

from __future__ import annotations

import re
from typing import Literal

#: Output tiers, smallest first. Upstream calls the field ``resolution`` or ``quality``.
TIERS: tuple[str, ...] = ("0.5K", "1K", "1.5K", "2K", "3K", "4K")
#: The edge of a square image at each tier (where a model has no documented pixel table).
TIER_EDGE: dict[str, int] = {
    "0.5K": 512,
    "1K": 1024,
    "1.5K": 1536,
    "2K": 2048,
    "3K": 3072,
    "4K": 4096,
}
#: Rendering qualities any model takes (each model takes a subset).
QUALITIES: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max", "auto", "standard", "hd")

Mode = Literal["generate", "edit"]
ImageFormat = Literal["png", "jpeg", "webp"]

_RATIO = re.compile(r"^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$")
_PIXELS = re.compile(r"^(\d{1,5})\s*[xX×*]\s*(\d{1,5})$")


def parse_ratio(size: str) -> tuple[float, float] | None:
    """``"16:9"`` -> (16, 9); anything else -> None."""
    match = _RATIO.match(size)
    if match is None:
        return None
    width, height = float(match.group(1)), float(match.group(2))
    return (width, height) if width > 0 and height > 0 else None


def parse_pixels(size: str) -> tuple[int, int] | None:
    """``"1280x720"`` (also with a multiplication sign) -> (1280, 720); anything else -> None."""
    match = _PIXELS.match(size.strip())
    return None if match is None else (int(match.group(1)), int(match.group(2)))
