"""list_models, the models://catalog resource and the README's models table: every catalog model,
each entry saying what its spec says, and filters that pick exactly the models with a capability.

Expectations are computed here from the specs, never from the entries under test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from imagegen_mcp.catalog import TIERS, ModelSpec, catalog
from imagegen_mcp.tools.catalog_text import REGENERATE, with_table
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

README = Path(__file__).resolve().parents[2] / "README.md"
SPECS = catalog().models
FAMILIES = sorted({spec.family for spec in SPECS.values()})

#: Capability -> which specs have it, written out from the vocabulary's meaning.
FEATURES: dict[str, Callable[[ModelSpec], bool]] = {
    "generate": lambda s: "generate" in s.modes,
    "edit": lambda s: "edit" in s.modes,
    "edit-only": lambda s: s.modes == ("edit",),
    "mask": lambda s: s.mask is not None,
    "n": lambda s: (s.n.fixed or max(s.n.values or (s.n.max,))) > 1,
    "references": lambda s: s.references.max > 0,
}


def _tier(tier: str) -> Callable[[ModelSpec], bool]:
    return lambda s: s.resolution is not None and tier in s.resolution.values


def _family(family: str) -> Callable[[ModelSpec], bool]:
    return lambda s: s.family == family


def _prefix(prefix: str) -> Callable[[ModelSpec], bool]:
    return lambda s: s.id.startswith(prefix)


CAPABILITIES: dict[str, Callable[[ModelSpec], bool]] = {
    **FEATURES,
    **{tier: _tier(tier) for tier in TIERS},
    "4k": _tier("4K"),  # tiers in any case
    **{family: _family(family) for family in FAMILIES},
    "mj-v8": _prefix("mj-v8"),
    "doubao-seedream-5": _prefix("doubao-seedream-5"),
    "gemini-3": _prefix("gemini-3"),
}


async def _list(client: Client, **args: Any) -> list[dict[str, Any]]:
    result = await client.call_tool("list_models", args)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    models: list[dict[str, Any]] = result.structured_content["models"]
    return models


def _counts(shown: str) -> set[int]:
    if shown.endswith(" fixed"):
        return {int(shown.removesuffix(" fixed"))}
    if "-" in shown:
        low, high = shown.split("-")
        return set(range(int(low), int(high) + 1))
    return {int(v) for v in shown.split(",")}


def _check_entry(entry: dict[str, Any], spec: ModelSpec) -> None:
    assert entry["title"] == spec.title
    assert entry["family"] == spec.family
    assert entry["status"] == spec.status
    assert entry["note"] == spec.notes
    assert entry["modes"] == list(spec.modes)
    pixels = spec.size.pixels if spec.size else None
    plain = [s for s in entry["sizes"] if not s.startswith("WxH")]
    assert plain == [s for s in spec.sizes() if s != "WxH"]
    summaries = [s for s in entry["sizes"] if s.startswith("WxH")]
    assert len(summaries) == (1 if pixels is not None and not pixels.only else 0)
    if summaries and pixels is not None:
        if pixels.multiple > 1:
            assert f"x{pixels.multiple}" in summaries[0]
        if pixels.max_side < 100_000:
            assert str(pixels.max_side) in summaries[0]
    assert entry["tiers"] == (list(spec.resolution.values) if spec.resolution else [])
    assert entry["qualities"] == (list(spec.quality.values) if spec.quality else [])
    assert _counts(entry["n"]) == set(spec.n.allowed())
    refs = spec.references
    if refs.max == 0:
        assert entry["references"] == "none"
    else:
        assert re.match(rf"^(<=|{refs.min}-){refs.max}, {refs.max_mb:g}MB", entry["references"])
        assert (refs.min > 0) == (not entry["references"].startswith("<="))
    assert entry["mask"] is (spec.mask is not None)
    prompt = spec.prompt
    for limit, unit in ((prompt.max_chars, "chars"), (prompt.max_bytes, "bytes")):
        assert (f"{limit} {unit}" in entry["prompt"]) is (limit is not None)
    assert (f"{prompt.max_tokens} tokens" in entry["prompt"]) is (prompt.max_tokens is not None)
    assert list(entry["options"]) == list(spec.options)
    for name, option in spec.options.items():
        shown = entry["options"][name]
        assert shown.startswith({"enum": "|".join(option.values)}.get(option.type, option.type))
        for bound in (option.min, option.max, option.max_chars):
            assert bound is None or str(bound) in shown
    price = spec.price
    if price.credits is None and not price.tiers:
        assert entry["price"] is None
    else:
        assert f"/{price.per}" in entry["price"]
        if price.credits is not None:
            assert entry["price"].startswith(f"{price.credits:g}/{price.per}")
        for tier, credits in price.tiers.items():
            assert f"{tier} {credits:g}" in entry["price"]


async def test_list_models_lists_every_catalog_model_in_catalog_order(client: Client) -> None:
    result = await client.call_tool("list_models", {})
    assert result.structured_content is not None
    ids = [m["id"] for m in result.structured_content["models"]]
    assert ids == list(SPECS)
    assert len(ids) >= 25
    lines = text_of(result).splitlines()
    assert [line.split()[0] for line in lines[1 : len(ids) + 1]] == ids  # a header, then one each


async def test_each_entry_says_what_its_spec_says(client: Client) -> None:
    for entry in await _list(client):
        _check_entry(entry, SPECS[entry["id"]])


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
async def test_a_capability_lists_exactly_the_models_that_have_it(
    client: Client, capability: str
) -> None:
    expected = [model_id for model_id, spec in SPECS.items() if CAPABILITIES[capability](spec)]
    assert expected, f"no model has {capability}: the case proves nothing"
    assert [m["id"] for m in await _list(client, capability=capability)] == expected


async def test_an_unknown_capability_is_one_line_naming_the_valid_ones(client: Client) -> None:
    result = await client.call_tool("list_models", {"capability": "watercolour"})
    text = text_of(result)
    assert result.is_error
    assert len(text.splitlines()) == 1, text
    assert "watercolour" in text
    for word in [*FEATURES, *TIERS, *FAMILIES, "prefix"]:
        assert word in text, word


async def test_the_tool_is_read_only_and_its_definition_stays_small(client: Client) -> None:
    tool = next(t for t in (await client.list_tools()).tools if t.name == "list_models")
    assert tool.title == "List image models"
    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is True
    assert tool.annotations.idempotent_hint is True
    assert tool.output_schema is not None
    assert set(tool.output_schema["properties"]["models"]["items"]["properties"]) >= {
        "id",
        "sizes",
        "tiers",
        "n",
        "references",
        "mask",
        "price",
    }
    dumped = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert len(json.dumps(dumped, separators=(",", ":"))) < 1250  # it is in every tools/list


async def test_the_catalog_resource_holds_the_unfiltered_entries(client: Client) -> None:
    listed = await _list(client)
    read = await client.read_resource("models://catalog")
    content = read.contents[0]
    assert content.mime_type == "application/json"
    assert json.loads(content.text)["models"] == listed  # type: ignore[union-attr]
    resources = (await client.list_resources()).resources
    assert "models://catalog" in {str(r.uri) for r in resources}


def test_the_readme_models_table_is_the_catalog_s() -> None:
    readme = README.read_text(encoding="utf-8")
    assert with_table(readme) == readme, f"README's models table is stale; run: {REGENERATE}"
    for model_id in SPECS:
        assert f"| `{model_id}` |" in readme
