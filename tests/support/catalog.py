"""For each catalog model: one valid, cheap combination of tool arguments, and one invalid one
with the words its refusal must contain (the values the model does take)."""

from __future__ import annotations

from typing import Any

from imagegen_mcp.catalog import ModelSpec, catalog, output_size

MODELS: list[ModelSpec] = list(catalog().models.values())
_GPT4O = catalog().models["gpt-4o-image"]
SIZES = tuple(_GPT4O.sizes())  # the default model's six sizes


def size_pixels(size: str) -> tuple[int, int]:
    return output_size(_GPT4O, size, None)


def model_ids(spec: ModelSpec) -> str:
    return spec.id


def smallest_size(spec: ModelSpec) -> str | None:
    """A size that renders small: 1:1 where taken, else the least pixels allowed."""
    if spec.size is None:
        return None
    if "1:1" in spec.size.ratios:
        return "1:1"
    pixels = spec.size.pixels
    if pixels is not None:
        if pixels.only:
            return pixels.only[0]
        side = max(pixels.min_side, int(pixels.min_area**0.5) + 1)
        side += -side % pixels.multiple
        return f"{side}x{side}"
    return spec.size.ratios[0]


def valid_args(spec: ModelSpec) -> dict[str, Any]:
    """generate_image arguments (without references) the model takes, at its cheapest."""
    args: dict[str, Any] = {"model": spec.id, "prompt": f"a lighthouse for {spec.id}"}
    size = smallest_size(spec)
    if size is not None and not spec.size.single_image_only:  # type: ignore[union-attr]
        args["size"] = size
    if spec.resolution is not None:
        args["resolution"] = spec.resolution.values[0]
    if spec.quality is not None:
        args["quality"] = spec.quality.values[0]
    if spec.n.field and 2 in spec.n.allowed():
        args["n"] = 2  # more than one image wherever the model makes more
    for name, option in spec.options.items():
        if option.type == "bool":
            args["options"] = {name: True}
        elif option.type == "enum" and option.default is not None and not option.images:
            args["options"] = {name: option.default}
        else:
            continue
        break
    return args


def references_needed(spec: ModelSpec) -> int:
    return spec.references.min


def invalid_args(spec: ModelSpec) -> tuple[dict[str, Any], list[str]]:
    """Arguments the model refuses, and words the refusal must contain."""
    base: dict[str, Any] = {"model": spec.id, "prompt": "a lighthouse"}
    if spec.size is not None and spec.size.ratios:
        return {**base, "size": "7:3"}, [spec.size.ratios[0], spec.size.ratios[-1], "7:3"]
    if spec.size is not None:  # pixel sizes only
        return {**base, "size": "16:9"}, ["WxH"]
    top = spec.n.allowed()[-1]
    return {**base, "n": top + 1}, [f"{spec.n.allowed()[0]}", f"not {top + 1}"]
