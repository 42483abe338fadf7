"""The catalog's entries as text: an aligned plain table (``imagegen-mcp models``, the text of
``list_models``) and a markdown table (the README's, kept current by ``update_readme``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from imagegen_mcp.tools.catalog_view import ModelInfo, model_list

COLUMNS = ("model", "modes", "sizes", "tiers", "qualities", "n", "refs", "mask", "credits")
README_BEGIN = "<!-- models table: generated from the catalog by update_readme; do not edit -->"
README_END = "<!-- end of models table -->"
REGENERATE = (
    'PYTHONPATH=src python -c "from imagegen_mcp.tools.catalog_text import update_readme; '
    "update_readme('README.md')\""
)
_PIXELS = re.compile(r"^\d+x\d+$")


def sizes_cell(sizes: Sequence[str]) -> str:
    """A model's sizes in a few words: ``auto, 15 ratios, WxH`` ("-" when it takes none); the
    limits on ``WxH`` are in the entry itself."""
    ratios = [s for s in sizes if ":" in s and not s.startswith("WxH")]
    fixed = [s for s in sizes if _PIXELS.match(s)]
    parts = ["auto"] if "auto" in sizes else []
    if ratios:
        parts.append(ratios[0] if len(ratios) == 1 else f"{len(ratios)} ratios")
    if fixed:
        parts.append(f"{len(fixed)} WxH")
    if any(s.startswith("WxH") for s in sizes):
        parts.append("WxH")
    return ", ".join(parts) or "-"


def cells(info: ModelInfo) -> tuple[str, ...]:
    modes = "+".join("gen" if m == "generate" else m for m in info.modes)
    refs = info.references.split(",")[0]
    return (
        info.id,
        modes,
        sizes_cell(info.sizes),
        ",".join(info.tiers) or "-",
        ",".join(info.qualities) or "-",
        info.n,
        "-" if refs == "none" else refs,
        "yes" if info.mask else "-",
        info.price or "-",
    )


def plain_table(models: Sequence[ModelInfo]) -> str:
    """A header and one aligned line per model."""
    rows = [COLUMNS, *(cells(info) for info in models)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def markdown_table(models: Sequence[ModelInfo]) -> str:
    lines = [f"| {' | '.join(COLUMNS)} |", f"|{'---|' * len(COLUMNS)}"]
    for info in models:
        first, *rest = cells(info)
        lines.append(f"| {' | '.join([f'`{first}`', *rest])} |")
    return "\n".join(lines)


def with_table(readme: str) -> str:
    """``readme`` with the text between the table's markers replaced by the current table."""
    start, end = readme.find(README_BEGIN), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(
            f"README lacks the models table markers {README_BEGIN!r} ... {README_END!r}"
        )
    table = markdown_table(model_list().models)
    return f"{readme[: start + len(README_BEGIN)]}\n{table}\n{readme[end:]}"


def update_readme(path: str | Path) -> None:
    """Rewrite the models table in the README at ``path`` from the catalog."""
    readme = Path(path)
    readme.write_text(with_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
