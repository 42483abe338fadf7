"""The typed shape of one catalog entry: what a model accepts and how each field goes on the wire.

Every rule about a model lives in ``models.toml`` and is read into these frozen specs; code asks
the spec, never the model's name. Field names under ``wire``/``field`` are the upstream's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from imagegen_mcp.catalog.vocabulary import (
    QUALITIES,
    TIERS,
    ImageFormat,
    Mode,
    parse_ratio,
)


class _Spec(BaseModel):
    # A misspelt key in the catalog file must fail at start-up, not be silently ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class PromptRule(_Spec):
    required: bool = True
    max_chars: int | None = None  # Unicode code points
    max_bytes: int | None = None  # UTF-8 bytes
    max_tokens: int | None = None  # cannot be counted here: only a certain excess is refused


class PixelRule(_Spec):
    """Which explicit ``WxH`` sizes a model takes."""

    multiple: int = 1  # both sides a multiple of this
    min_side: int = 1
    max_side: int = 100_000
    min_area: int = 1
    max_area: int = 10**10
    max_aspect: float = 1e9  # long side / short side
    only: tuple[str, ...] = ()  # exactly these sizes, where the model lists them


class SizeRule(_Spec):
    """Where the shape goes: ``size`` on the wire, or ``--ar`` in the prompt (Midjourney)."""

    field: Literal["size", "--ar"] = "size"
    default: str | None = None  # what the upstream uses when the field is omitted
    auto: bool = False  # "auto": the model decides
    ratios: tuple[str, ...] = ()
    pixels: PixelRule | None = None
    single_image_only: bool = False  # an explicit size only when n = 1
    #: Named table in the catalog: ratio -> tier -> "WxH". Without one, a ratio's pixels are
    #: computed from the tier's area (``base_edge`` without tiers), sides a multiple of 16.
    table: str | None = None
    base_edge: int = 1024

    @model_validator(mode="after")
    def _known(self) -> SizeRule:
        bad = [r for r in self.ratios if parse_ratio(r) is None]
        if bad:
            raise ValueError(f"not ratios: {bad}")
        return self


class TierRule(_Spec):
    """The output tier, under whatever name the model's upstream field has."""

    field: Literal["resolution", "quality"]
    values: tuple[str, ...]
    default: str | None = None
    #: The tier only applies together with a ratio size (ignored for auto and pixels).
    ratio_only: bool = True

    @model_validator(mode="after")
    def _known(self) -> TierRule:
        bad = [v for v in (*self.values, self.default) if v is not None and v not in TIERS]
        if bad:
            raise ValueError(f"unknown tiers: {bad}")
        return self


class QualityRule(_Spec):
    """The rendering quality, sent as the model's ``wire`` field (dotted = nested)."""

    wire: str = "quality"
    values: tuple[str, ...]
    default: str | None = None

    @model_validator(mode="after")
    def _known(self) -> QualityRule:
        bad = [v for v in self.values if v not in QUALITIES]
        if bad:
            raise ValueError(f"unknown qualities: {bad}")
        return self


class CountRule(_Spec):
    """How many images one task makes."""

    field: str | None = None  # the upstream's count field; None: one image (or ``fixed``)
    min: int = 1
    max: int = 1
    values: tuple[int, ...] = ()  # only these counts (else any in min..max)
    fixed: int | None = None  # always this many images, with no field (Midjourney: 4)
    with_references: int | None = None  # references + images <= this (Seedream: 15)
    upper_limit: bool = False  # n is a ceiling: the task may return fewer (billed as returned)

    def allowed(self) -> tuple[int, ...]:
        if self.fixed is not None:
            return (self.fixed,)
        return self.values or tuple(range(self.min, self.max + 1))

    @property
    def default(self) -> int:
        return self.fixed if self.fixed is not None else self.allowed()[0]


class ReferenceRule(_Spec):
    """Input images: how many, how large, which formats, and where they go."""

    max: int = 0
    min: int = 0  # edit-only models need at least one
    max_mb: float = 10
    min_side: int = 1  # pixels, each side of each input image
    max_side: int = 100_000
    formats: tuple[str, ...] = ("jpeg", "png", "webp")
    #: ``image_urls`` on the wire, or URLs at the start of the prompt (Midjourney).
    placement: Literal["image_urls", "prompt"] = "image_urls"

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


class MaskRule(_Spec):
    """A mask for partial edits: a PNG of the base image's size, transparent = regenerate."""

    field: str = "mask_url"
    note: str = ""


class OptionRule(_Spec):
    """One documented extra, validated here and sent as ``wire`` (dotted = nested object)."""

    wire: str
    type: Literal["bool", "int", "enum", "text"]
    values: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    max_chars: int | None = None
    default: str | int | bool | None = None
    #: How the value goes on the wire: as is, or as Seedream's ``tools`` list (web search).
    encode: Literal["value", "web_search_tool"] = "value"
    #: value -> constraints it needs: other option name (or "quality") -> allowed values, or
    #: "references" -> allowed reference counts (as strings).
    requires: dict[str, dict[str, tuple[str, ...]]] = Field(default_factory=dict)
    #: value -> images a task makes with it (Midjourney v8 draft: 24 sketches).
    images: dict[str, int] = Field(default_factory=dict)
    about: str = ""

    @model_validator(mode="after")
    def _enum_has_values(self) -> OptionRule:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum option needs values")
        return self


class PriceHint(_Spec):
    """Credits the docs quote; only a seed for the daily budget until real charges are seen."""

    credits: float | None = None
    per: Literal["image", "task"] = "image"
    tiers: dict[str, float] = Field(default_factory=dict)  # tier -> credits, where priced so
    source: str = ""

    def estimate(self, tier: str | None) -> float | None:
        if tier is not None and tier in self.tiers:
            return self.tiers[tier]
        return self.credits


class ModelSpec(_Spec):
    """Everything the server knows about one upstream model."""

    id: str
    family: str
    title: str
    status: Literal["current", "older"]
    docs: str = ""
    modes: tuple[Mode, ...]
    prompt: PromptRule = PromptRule()
    size: SizeRule | None = None
    resolution: TierRule | None = None
    quality: QualityRule | None = None
    n: CountRule = CountRule()
    references: ReferenceRule = ReferenceRule()
    mask: MaskRule | None = None
    options: dict[str, OptionRule] = Field(default_factory=dict)
    price: PriceHint = PriceHint()
    duration: float = 60.0  # typical seconds to finish, before the upstream's own estimate
    output_format: ImageFormat = "png"  # what the upstream returns unless asked otherwise
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if not self.modes:
            raise ValueError("a model needs at least one mode")
        if "edit" in self.modes and self.references.max < 1:
            raise ValueError("an edit model must take reference images")
        if "generate" not in self.modes and self.references.min < 1:
            raise ValueError("an edit-only model must require a reference image")
        if self.mask is not None and "edit" not in self.modes:
            raise ValueError("a mask needs the edit mode")
        return self

    def default_tier(self) -> str | None:
        """The tier the upstream uses when none is given (None: the model has no tiers)."""
        rule = self.resolution
        return None if rule is None else rule.default or rule.values[0]

    @property
    def edit_only(self) -> bool:
        return "generate" not in self.modes

    def sizes(self) -> list[str]:
        """Every size value it takes, as shown to callers (``WxH`` for explicit pixels)."""
        if self.size is None:
            return []
        shown = (["auto"] if self.size.auto else []) + list(self.size.ratios)
        pixels = self.size.pixels
        if pixels is None:
            return shown
        return [*shown, *pixels.only] if pixels.only else [*shown, "WxH"]
