"""The playground's catalog (``GET /api/models``): each ``list_models`` entry, plus, for a model
that takes free pixel sizes, its rule as numbers (``pixels``) so the page can offer a custom
width and height and check them as the person types. The page's check is a convenience: the
server checks the size again (``service.validation``), and its refusal is the one shown.
"""

from __future__ import annotations

from typing import Any

from imagegen_mcp.catalog import catalog


def pixels_json(model_id: str) -> dict[str, Any] | None:
    """The free-size rule of ``model_id`` (the catalog's ``PixelRule``), or None when the model
    takes only named sizes (ratios, tiers or a fixed list)."""
    spec = catalog().get(model_id)
    size = spec.size if spec is not None else None
    rule = size.pixels if size is not None else None
    if size is None or rule is None or rule.only:
        return None
    return {
        "multiple": rule.multiple,
        "min_side": rule.min_side,
        "max_side": rule.max_side,
        "min_area": rule.min_area,
        "max_area": rule.max_area,
        "max_aspect": rule.max_aspect,
        "single_image_only": size.single_image_only,
    }


def with_pixels(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries, each with ``pixels`` (None for a model without free sizes)."""
    return [{**entry, "pixels": pixels_json(entry["id"])} for entry in models]
