"""The pixel size a model yields for a size and tier: the documented table where there is one,
else the tier's area at the ratio (sides a multiple of 16). Used by the sandbox to render, and
by ``list_models`` to show what a choice gives."""

from __future__ import annotations

import math

from imagegen_mcp.catalog.load import catalog
from imagegen_mcp.catalog.spec import ModelSpec
from imagegen_mcp.catalog.vocabulary import TIER_EDGE, parse_pixels, parse_ratio

_STEP = 16


def _at_area(ratio: tuple[float, float], edge: int) -> tuple[int, int]:
    area = edge * edge
    width = math.sqrt(area * ratio[0] / ratio[1])
    height = area / width
    return (
        max(_STEP, round(width / _STEP) * _STEP),
        max(_STEP, round(height / _STEP) * _STEP),
    )


def output_size(
    spec: ModelSpec,
    size: str | None,
    tier: str | None,
    reference: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """(width, height) of each image ``spec`` makes for ``size`` (None: the model's default)
    at ``tier`` (None: its default); ``reference`` is the first input image's size, which
    models without a size field keep the aspect of."""
    tier = tier or spec.default_tier()
    edge = TIER_EDGE[tier] if tier is not None else (spec.size.base_edge if spec.size else 1024)
    if size is None and spec.size is not None:
        size = spec.size.default
    if size is None or size == "auto":
        if reference is not None and size is None:
            return _at_area((float(reference[0]), float(reference[1])), edge)
        size = "1:1"
    pixels = parse_pixels(size)
    if pixels is not None:
        return pixels
    ratio = parse_ratio(size)
    if ratio is None:
        raise ValueError(f"not a size: {size!r}")
    table_name = spec.size.table if spec.size is not None else None
    if table_name is not None:
        row = catalog().tables[table_name].get(size, {})
        if (tier or "1K") in row:  # a model without tiers has its one size under 1K
            return row[tier or "1K"]
    return _at_area(ratio, edge)
