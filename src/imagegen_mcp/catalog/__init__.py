"""The model catalog: every upstream image model's rules, read from ``models.toml``.

Importing this package is cheap: the specs (pydantic classes) and the file are read on first
use of ``catalog()``, so a server answers ``tools/list`` without paying for them. Modules that
only need the types import them under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagegen_mcp.catalog.vocabulary import QUALITIES, TIER_EDGE, TIERS, parse_pixels, parse_ratio

if TYPE_CHECKING:
    from imagegen_mcp.catalog.load import Catalog
    from imagegen_mcp.catalog.spec import ModelSpec


def catalog() -> Catalog:
    """The shipped catalog, parsed and validated on first use."""
    from imagegen_mcp.catalog.load import catalog as load

    return load()


def output_size(
    spec: ModelSpec, size: str | None, tier: str | None, reference: tuple[int, int] | None = None
) -> tuple[int, int]:
    """See ``catalog.dimensions.output_size``."""
    from imagegen_mcp.catalog.dimensions import output_size as compute

    return compute(spec, size, tier, reference)


__all__ = [
    "QUALITIES",
    "TIERS",
    "TIER_EDGE",
    "Catalog",
    "ModelSpec",
    "catalog",
    "output_size",
    "parse_pixels",
    "parse_ratio",
]


def __getattr__(name: str) -> object:
    # ``from imagegen_mcp.catalog import ModelSpec`` at run time (tests, the sandbox) still works.
    if name == "ModelSpec":
        from imagegen_mcp.catalog.spec import ModelSpec

        return ModelSpec
    if name == "Catalog":
        from imagegen_mcp.catalog.load import Catalog

        return Catalog
    raise AttributeError(name)
