"""The default model's sizes and their pixels, from the catalog."""

from __future__ import annotations

from imagegen_mcp.catalog import catalog, output_size

_GPT4O = catalog().models["gpt-4o-image"]
SIZES = tuple(_GPT4O.sizes())  # the default model's six sizes


def size_pixels(size: str) -> tuple[int, int]:
    return output_size(_GPT4O, size, None)
