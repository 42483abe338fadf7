"""The shipped catalog: every model the issue names is there, well formed, with the documented
pixel tables; the loader refuses malformed entries instead of guessing."""

from __future__ import annotations

import pytest

from imagegen_mcp.catalog import TIERS, catalog, output_size
from imagegen_mcp.catalog.load import parse_catalog
from imagegen_mcp.models import (
    DEFAULT_MODEL,
    MAX_IMAGES_PER_TASK,
    MAX_PROMPT_CHARS,
    MAX_REFERENCE_BYTES,
    MAX_REFERENCES,
)

#: The models the docs extract marks current, plus three older ones still served.
REQUIRED = {
    "gpt-image-2",
    "gpt-image-2-beta",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-1.5",
    "gemini-3.1-flash-image-preview",
    "gemini-3-pro-image-preview",
    "gemini-3.1-flash-lite-image",
    "nano-banana-2-beta",
    "nano-banana-2-lite-beta",
    "nano-banana-pro-beta",
    "nano-banana-beta",
    "doubao-seedream-4.0",
    "doubao-seedream-4.5",
    "doubao-seedream-5.0-lite",
    "doubao-seedream-5.0-pro",
    "doubao-seedream-5.0-flash",
    "qwen-image-edit",
    "qwen-image-edit-plus",
    "qwen-image-3.0",
    "qwen-image-3.0-pro",
    "wan2.5-text-to-image",
    "wan2.5-image-to-image",
    "z-image-turbo",
    "krea-2-turbo",
    "grok-imagine-image-2.0",
    "mj-v7",
    "mj-v8.1",
    "mj-v8.2",
    "gpt-4o-image",
    "gpt-image-1",
    "gpt-image-1.5-lite",
}


def test_the_bounds_the_tools_publish_hold_every_model() -> None:
    specs = catalog().models.values()
    assert max(spec.references.max_bytes for spec in specs) <= MAX_REFERENCE_BYTES
    assert max(spec.references.max for spec in specs) <= MAX_REFERENCES
    assert max(spec.prompt.max_chars or 0 for spec in specs) <= MAX_PROMPT_CHARS
    counts = [n for spec in specs for n in spec.n.allowed()]
    counts += [
        n for spec in specs for option in spec.options.values() for n in option.images.values()
    ]
    assert max(counts) <= MAX_IMAGES_PER_TASK
    assert DEFAULT_MODEL in catalog().models  # settings skip reading the catalog for it


def test_every_required_model_is_in_the_catalog() -> None:
    models = catalog().models
    assert set(models) >= REQUIRED
    assert len(models) >= 25
    # Out of scope: layer splitting and Midjourney follow-up operations.
    assert not [m for m in models if m.endswith("-layerize") or m.startswith("mj-v7-")]


@pytest.mark.parametrize("spec", list(catalog().models.values()), ids=lambda s: s.id)
def test_each_entry_is_consistent(spec) -> None:  # type: ignore[no-untyped-def]
    assert spec.title and spec.family and spec.status in ("current", "older")
    if spec.resolution is not None:
        assert set(spec.resolution.values) <= set(TIERS)
        assert spec.resolution.default in spec.resolution.values
    if spec.quality is not None and spec.quality.default is not None:
        assert spec.quality.default in spec.quality.values
    for option in spec.options.values():
        assert option.wire, f"{spec.id}: an option without a wire field"
        if option.type == "enum" and option.default is not None:
            assert option.default in option.values
    if spec.size is not None and spec.size.table is not None:
        table = catalog().tables[spec.size.table]
        tiers = spec.resolution.values if spec.resolution is not None else ("1K",)
        for ratio in spec.size.ratios:
            for tier in tiers:
                assert tier in table[ratio], f"{spec.id}: no {ratio} at {tier}"
    # Every model yields a size for its defaults.
    width, height = output_size(spec, None, None, (800, 600))
    assert width > 0 and height > 0


@pytest.mark.parametrize(
    ("model", "size", "tier", "expected"),
    [
        ("gpt-image-2", "16:9", "4K", (3840, 2160)),
        ("gpt-image-2", "9:16", "2K", (1536, 2736)),  # portrait = the landscape row swapped
        ("gpt-image-2", "1:3", "1K", (592, 1776)),
        ("gpt-image-2", "1280x720", "4K", (1280, 720)),  # pixels: the tier does not apply
        ("gpt-image-2", "auto", None, (1024, 1024)),
        ("gpt-4o-image", "2:3", None, (1024, 1536)),
        ("gpt-4o-image", None, None, (1024, 1024)),
        ("doubao-seedream-4.0", "21:9", "4K", (6240, 2656)),
        ("doubao-seedream-5.0-lite", "9:16", "3K", (2304, 4096)),
        ("doubao-seedream-5.0-pro", "16:9", "1.5K", (2048, 1152)),
        ("qwen-image-3.0", "3:4", "2K", (1770, 2360)),
        ("qwen-image-3.0", "3:4", "1K", (864, 1152)),
        # No documented table: the tier's area at the ratio, sides a multiple of 16.
        ("gemini-3.1-flash-image-preview", "1:1", "0.5K", (512, 512)),
        ("gemini-3.1-flash-image-preview", "16:9", "2K", (2736, 1536)),
    ],
)
def test_output_sizes_follow_the_documented_tables(
    model: str, size: str | None, tier: str | None, expected: tuple[int, int]
) -> None:
    assert output_size(catalog().models[model], size, tier) == expected


def test_a_model_without_a_size_keeps_the_input_aspect() -> None:
    spec = catalog().models["qwen-image-edit"]
    width, height = output_size(spec, None, None, (2000, 1000))
    assert abs(width / height - 2) < 0.05 and width % 16 == 0


BASE = """
[models.base]
family = "f"
title = "Base"
status = "current"
modes = ["generate", "edit"]
references = { max = 4 }
size = { ratios = ["1:1", "16:9"] }
options = { seed = { wire = "seed", type = "int" } }
price = { credits = 2.0 }
"""


def test_like_merges_tables_and_the_entry_wins() -> None:
    parsed = parse_catalog(
        BASE
        + """
[models.child]
like = "base"
title = "Child"
status = "older"
references = { max_mb = 5 }
options = { style = { wire = "model_params.style", type = "enum", values = ["a"] } }
"""
    )
    child = parsed.models["child"]
    assert child.references.max == 4 and child.references.max_mb == 5
    assert set(child.options) == {"seed", "style"}
    assert child.title == "Child" and child.status == "older"
    assert parsed.models["base"].references.max_mb == 10  # the parent is unchanged
    assert child.price.credits is None  # a price is never inherited


def test_an_abstract_template_is_not_a_model() -> None:
    parsed = parse_catalog(
        BASE.replace('status = "current"', 'status = "current"\nabstract = true')
    )
    assert parsed.models == {}


CHILD = '[models.x]\nlike = "base"\ntitle = "X"\nstatus = "current"\n'


CHILD = '[models.x]\nlike = "base"\ntitle = "X"\nstatus = "current"\n'


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('[models.x]\nlike = "nowhere"\n', "unknown or circular"),
        (CHILD + 'size = { ratios = ["1:1"], table = "nope" }\n', "no table"),
        ("[tables.t]\n'1:1' = { '9K' = '1x1' }\n", "bad cell"),
        (CHILD + "prompt = { max_char = 5 }\n", "max_char"),  # a misspelt key
    ],
)
def test_malformed_entries_are_refused(extra: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_catalog(BASE + extra)
