"""Read ``models.toml`` (shipped inside the package) into validated, frozen specs, once.

An entry may start from another with ``like = "<id>"``: its tables are merged key by key, and
anything the entry states wins. ``tables`` hold documented ratio -> tier -> pixel sizes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from imagegen_mcp.catalog.spec import ModelSpec
from imagegen_mcp.catalog.vocabulary import TIERS, parse_pixels, parse_ratio

CATALOG_FILE = "models.toml"

PixelTable = dict[str, dict[str, tuple[int, int]]]


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelSpec]
    tables: dict[str, PixelTable]
    sources: str

    def get(self, model_id: str) -> ModelSpec | None:
        return self.models.get(model_id)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve(
    raw: dict[str, dict[str, Any]], model_id: str, seen: tuple[str, ...]
) -> dict[str, Any]:
    entry = dict(raw[model_id])
    parent = entry.pop("like", None)
    if parent is None:
        return entry
    if parent in seen or parent not in raw:
        raise ValueError(f"{CATALOG_FILE}: {model_id} is like unknown or circular {parent!r}")
    base = _resolve(raw, parent, (*seen, model_id))
    # The parent's identity, prose and price never pass on: each model's price is its own.
    for key in ("title", "docs", "notes", "status", "abstract", "price"):
        base.pop(key, None)
    return _merge(base, entry)


def _table(name: str, raw: dict[str, Any]) -> PixelTable:
    mirror = bool(raw.pop("mirror", False))
    table: PixelTable = {}
    for ratio, tiers in raw.items():
        if parse_ratio(ratio) is None or not isinstance(tiers, dict):
            raise ValueError(f"{CATALOG_FILE}: table {name}: bad row {ratio!r}")
        row: dict[str, tuple[int, int]] = {}
        for tier, size in tiers.items():
            pixels = parse_pixels(str(size))
            if tier not in TIERS or pixels is None:
                raise ValueError(f"{CATALOG_FILE}: table {name}: bad cell {ratio} {tier}")
            row[tier] = pixels
        table[ratio] = row
        if mirror:  # landscape rows given; the portrait ratio is the same pixels swapped
            w, h = ratio.split(":")
            table.setdefault(f"{h}:{w}", {t: (y, x) for t, (x, y) in row.items()})
    return table


def parse_catalog(text: str) -> Catalog:
    data = tomllib.loads(text)
    tables = {name: _table(name, dict(raw)) for name, raw in data.get("tables", {}).items()}
    raw_models: dict[str, dict[str, Any]] = data.get("models", {})
    models: dict[str, ModelSpec] = {}
    for model_id in raw_models:
        entry = _resolve(raw_models, model_id, ())
        if entry.pop("abstract", False):
            continue  # a template other entries are ``like``, not a model
        try:
            spec = ModelSpec.model_validate({"id": model_id, **entry})
        except ValidationError as exc:
            raise ValueError(f"{CATALOG_FILE}: model {model_id}: {exc}") from None
        if spec.size is not None and spec.size.table is not None:
            if spec.size.table not in tables:
                raise ValueError(f"{CATALOG_FILE}: {model_id}: no table {spec.size.table!r}")
            missing = [r for r in spec.size.ratios if r not in tables[spec.size.table]]
            if missing:
                raise ValueError(f"{CATALOG_FILE}: {model_id}: table lacks ratios {missing}")
        models[model_id] = spec
    return Catalog(models=models, tables=tables, sources=str(data.get("sources", "")))


@cache
def catalog() -> Catalog:
    """The shipped catalog, parsed and validated on first use."""
    text = resources.files("imagegen_mcp.catalog").joinpath(CATALOG_FILE).read_text("utf-8")
    return parse_catalog(text)
