"""The model catalog: every upstream image model's rules, read from ``models.toml``."""

from imagegen_mcp.catalog.dimensions import output_size
from imagegen_mcp.catalog.load import Catalog, catalog
from imagegen_mcp.catalog.spec import QUALITIES, TIERS, ModelSpec

__all__ = ["QUALITIES", "TIERS", "Catalog", "ModelSpec", "catalog", "output_size"]
