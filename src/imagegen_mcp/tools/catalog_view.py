"""The catalog as callers read it: one compact entry per model, and the capability filter.

``list_models`` (``tools.catalog``), the ``models://catalog`` resource, ``imagegen-mcp models``
and the README's models table (``tools.catalog_text``) all show these entries. No MCP SDK here:
the command line lists the models without loading it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, WithJsonSchema

from imagegen_mcp.catalog import TIERS, catalog
from imagegen_mcp.errors import InputError

if TYPE_CHECKING:
    from imagegen_mcp.catalog.spec import ModelSpec, OptionRule, PixelRule, PriceHint, PromptRule

#: PixelRule's defaults: a model that states no upper bound.
UNBOUNDED_SIDE = 100_000
UNBOUNDED_AREA = 10**10
UNBOUNDED_ASPECT = 1e9

#: Capabilities that are not a tier, a family or a model id prefix.
FEATURES: tuple[str, ...] = ("generate", "edit", "edit-only", "mask", "n", "references")


class ModelInfo(BaseModel):
    # One model, compactly. No docstring or field descriptions: they would go into the schema
    # (titles, required lists and the single-use definition go in tools.arguments.compact_schema).
    # n: "1-10", "1,2,4" or "4 fixed"; references: "<=16, 50MB each" or "1-3, ..." (at least 1);
    # prompt: its limits ("2000 tokens"); options: name -> "a|b (default)", "bool", "int 0-9".

    id: str
    title: str
    family: str
    modes: list[str]
    sizes: list[str]
    tiers: list[str]
    qualities: list[str]
    n: str
    references: str
    mask: bool
    prompt: str
    # Hand-written schemas, half the length of pydantic's (options' values are strings).
    options: Annotated[dict[str, str], WithJsonSchema({"type": "object"})]
    price: Annotated[str | None, WithJsonSchema({"type": ["string", "null"]})]
    status: Annotated[Literal["current", "older"], WithJsonSchema({"enum": ["current", "older"]})]
    note: str


class ModelList(BaseModel):
    models: list[ModelInfo]


# --- one entry ------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:g}"


def pixels_summary(rule: PixelRule) -> str:
    """``WxH`` and its limits in a few words, e.g. ``WxH 16-3840, x16, 0.66-8.29MP, <=3:1``."""
    parts: list[str] = []
    low, high = rule.min_side > 1, rule.max_side < UNBOUNDED_SIDE
    if low and high:
        parts.append(f"{rule.min_side}-{rule.max_side}")
    elif low:
        parts.append(f">={rule.min_side}")
    elif high:
        parts.append(f"<={rule.max_side}")
    if rule.multiple > 1:
        parts.append(f"x{rule.multiple}")
    low_area, high_area = rule.min_area > 1, rule.max_area < UNBOUNDED_AREA
    if low_area or high_area:
        mp_low, mp_high = f"{rule.min_area / 1e6:.2f}", f"{rule.max_area / 1e6:.2f}"
        if low_area and high_area:
            parts.append(f"{mp_low}-{mp_high}MP")
        else:
            parts.append(f">={mp_low}MP" if low_area else f"<={mp_high}MP")
    if rule.max_aspect < UNBOUNDED_ASPECT:
        parts.append(f"<={_num(rule.max_aspect)}:1")
    return " ".join(["WxH", ", ".join(parts)]).strip()


def sizes_of(spec: ModelSpec) -> list[str]:
    """``spec.sizes()`` with ``WxH`` spelled out as its limits."""
    pixels = spec.size.pixels if spec.size is not None else None
    shown = spec.sizes()
    if pixels is None or pixels.only:
        return shown
    summary = pixels_summary(pixels)
    if spec.size is not None and spec.size.single_image_only:
        summary += " (n=1 only)"
    return [summary if s == "WxH" else s for s in shown]


def count_of(spec: ModelSpec) -> str:
    rule = spec.n
    if rule.fixed is not None:
        return f"{rule.fixed} fixed"
    if rule.values:
        return ",".join(str(v) for v in rule.values)
    return str(rule.min) if rule.min == rule.max else f"{rule.min}-{rule.max}"


def references_of(spec: ModelSpec) -> str:
    rule = spec.references
    if rule.max == 0:
        return "none"
    count = f"{rule.min}-{rule.max}" if rule.min else f"<={rule.max}"
    where = ", in the prompt" if rule.placement == "prompt" else ""
    return f"{count}, {_num(rule.max_mb)}MB each{where}"


def prompt_of(rule: PromptRule) -> str:
    limits = [
        f"{limit} {unit}"
        for limit, unit in (
            (rule.max_chars, "chars"),
            (rule.max_bytes, "bytes"),
            (rule.max_tokens, "tokens"),
        )
        if limit is not None
    ]
    return ", ".join(limits) or "not stated"


def option_of(rule: OptionRule) -> str:
    if rule.type == "enum":
        shown = "|".join(rule.values)
    elif rule.type == "int":
        low = "" if rule.min is None else str(rule.min)
        high = "" if rule.max is None else str(rule.max)
        shown = f"int {low}-{high}" if low or high else "int"
    elif rule.type == "text":
        shown = "text" if rule.max_chars is None else f"text<={rule.max_chars}"
    else:
        shown = "bool"
    if rule.default is not None:
        default = str(rule.default).lower() if isinstance(rule.default, bool) else rule.default
        shown += f" ({default})"
    return shown


def price_of(hint: PriceHint) -> str | None:
    if hint.credits is None and not hint.tiers:
        return None
    tiers = ", ".join(f"{tier} {_num(credits)}" for tier, credits in hint.tiers.items())
    if hint.credits is None:
        return f"{tiers} /{hint.per}"
    base = f"{_num(hint.credits)}/{hint.per}"
    return f"{base} ({tiers})" if tiers else base


def model_info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(
        id=spec.id,
        title=spec.title,
        family=spec.family,
        modes=list(spec.modes),
        sizes=sizes_of(spec),
        tiers=list(spec.resolution.values) if spec.resolution else [],
        qualities=list(spec.quality.values) if spec.quality else [],
        n=count_of(spec),
        references=references_of(spec),
        mask=spec.mask is not None,
        prompt=prompt_of(spec.prompt),
        options={name: option_of(rule) for name, rule in spec.options.items()},
        price=price_of(spec.price),
        status=spec.status,
        note=spec.notes,
    )


# --- filtering ------------------------------------------------------------------------------


def families() -> list[str]:
    return list(dict.fromkeys(spec.family for spec in catalog().models.values()))


def valid_capabilities() -> str:
    return (
        f"use {', '.join(FEATURES)}, a tier ({', '.join(TIERS)}), a family "
        f"({', '.join(families())}) or a model id prefix"
    )


def has_capability(spec: ModelSpec, capability: str) -> bool | None:
    """Whether ``spec`` has ``capability``; None when the word is no capability of any kind."""
    word = capability.strip()
    tier = next((t for t in TIERS if t.lower() == word.lower()), None)
    if tier is not None:
        return spec.resolution is not None and tier in spec.resolution.values
    word = word.lower()
    features = {
        "generate": "generate" in spec.modes,
        "edit": "edit" in spec.modes,
        "edit-only": spec.edit_only,
        "mask": spec.mask is not None,
        "n": max(spec.n.allowed()) > 1,
        "references": spec.references.max > 0,
    }
    if word in features:
        return features[word]
    if word in families():
        return spec.family == word
    if word and any(model_id.startswith(word) for model_id in catalog().models):
        return spec.id.startswith(word)
    return None


def select(capability: str | None = None) -> list[ModelSpec]:
    """The catalog's models in catalog order, only those with ``capability`` when given;
    ``InputError`` naming the valid capabilities for an unknown one."""
    specs = list(catalog().models.values())
    if capability is None:
        return specs
    found = [spec for spec in specs if has_capability(spec, capability)]
    if not found and has_capability(specs[0], capability) is None:
        shown = capability[:40] + ("…" if len(capability) > 40 else "")
        raise InputError(f"Unknown capability {shown!r}: {valid_capabilities()}.")
    return found


def model_list(capability: str | None = None) -> ModelList:
    return ModelList(models=[model_info(spec) for spec in select(capability)])
