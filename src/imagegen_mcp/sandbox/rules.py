"""One model's request rules on the wire, read from the catalog: which fields it takes, and the
values each may have. ``validation`` applies them to a create body in order.

Every refusal names the offending parameter and what would have been accepted, as the upstream's
400 answers do.
"""

from __future__ import annotations

import re
from typing import Any

from imagegen_mcp.catalog.spec import ModelSpec, OptionRule, PixelRule
from imagegen_mcp.catalog.vocabulary import parse_pixels

#: Midjourney's aspect flag inside the prompt (``--ar 16:9`` or ``--aspect 16:9``).
_AR_FLAG = re.compile(r"(?:^|\s)--(?:ar|aspect)\s+(\S+)")
_WEB_SEARCH_TOOLS = [{"type": "web_search"}]


class InvalidRequest(Exception):
    """A create request the upstream answers with 400, naming the offending parameter."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def listed(values: Any) -> str:
    return ", ".join(str(value) for value in values)


# ---- which fields a model takes ----------------------------------------------------------


def wire_paths(spec: ModelSpec) -> set[str]:
    """Every wire path (dotted = nested) a create for ``spec`` may carry."""
    paths = {"model", "prompt", "callback_url"}
    if spec.size is not None and spec.size.field == "size":
        paths.add("size")
    if spec.resolution is not None:
        paths.add(spec.resolution.field)
    if spec.quality is not None:
        paths.add(spec.quality.wire)
    if spec.n.field is not None:
        paths.add(spec.n.field)
    if spec.references.max > 0 and spec.references.placement == "image_urls":
        paths.add("image_urls")
    if spec.mask is not None:
        paths.add(spec.mask.field)
    paths.update(option.wire for option in spec.options.values())
    return paths


def check_fields(spec: ModelSpec, body: dict[str, Any]) -> None:
    """Refuse any top-level field, or key of a nested object, that ``spec`` does not take."""
    paths = wire_paths(spec)
    top = sorted({path.split(".", 1)[0] for path in paths})
    for key in body:
        if key not in top:
            raise InvalidRequest(
                key, f"{spec.id} does not take the field {key!r}; it takes: {listed(top)}"
            )
    for parent in sorted({path.split(".", 1)[0] for path in paths if "." in path}):
        if parent not in body:
            continue
        nested = body[parent]
        inner = sorted(path.split(".", 1)[1] for path in paths if path.startswith(parent + "."))
        if not isinstance(nested, dict):
            raise InvalidRequest(parent, f"{parent} must be an object with: {listed(inner)}")
        for key in nested:
            if key not in inner:
                raise InvalidRequest(
                    f"{parent}.{key}",
                    f"{spec.id} does not take {parent}.{key}; {parent} takes: {listed(inner)}",
                )


def read_wire(body: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(present, value) of a dotted wire path in ``body``."""
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


# ---- prompt ------------------------------------------------------------------------------


def check_prompt(spec: ModelSpec, prompt: str) -> None:
    rule = spec.prompt
    if rule.max_chars is not None and len(prompt) > rule.max_chars:
        raise InvalidRequest(
            "prompt", f"prompt must be at most {rule.max_chars} characters (got {len(prompt)})"
        )
    size = len(prompt.encode("utf-8"))
    if rule.max_bytes is not None and size > rule.max_bytes:
        raise InvalidRequest("prompt", f"prompt must be at most {rule.max_bytes} UTF-8 bytes")
    # Tokens cannot be counted here; more words than tokens is certainly too long.
    words = len(prompt.split())
    if rule.max_tokens is not None and words > rule.max_tokens:
        raise InvalidRequest(
            "prompt", f"prompt must be at most {rule.max_tokens} tokens (got {words} words)"
        )


def split_prompt_references(spec: ModelSpec, prompt: str) -> tuple[str, ...]:
    """Midjourney: the URLs at the prompt's start are its references."""
    words = prompt.split()
    urls: list[str] = []
    for word in words:
        if not word.startswith(("http://", "https://")):
            break
        urls.append(word)
    if urls and len(urls) == len(words):
        raise InvalidRequest("prompt", "prompt needs text after its reference image URLs")
    if len(urls) > spec.references.max:
        raise InvalidRequest(
            "prompt", f"the prompt may start with at most {spec.references.max} image URLs"
        )
    return tuple(urls)


def aspect_in_prompt(spec: ModelSpec, prompt: str) -> str | None:
    """Midjourney: the ``--ar W:H`` ratio in the prompt (the last one), checked."""
    found = _AR_FLAG.findall(prompt)
    if not found:
        return None
    ratios = spec.size.ratios if spec.size is not None else ()
    for value in found:
        if value not in ratios:
            raise InvalidRequest("prompt", f"--ar must be one of: {listed(ratios)} (got {value})")
    last: str = found[-1]
    return last


# ---- size, tier, quality, n --------------------------------------------------------------


def _pixels_problem(rule: PixelRule, width: int, height: int) -> str | None:
    if rule.only:
        allowed = [parse_pixels(only) for only in rule.only]
        return None if (width, height) in allowed else f"one of {listed(rule.only)}"
    long_side, short_side = max(width, height), min(width, height)
    if width % rule.multiple or height % rule.multiple:
        return f"sides that are multiples of {rule.multiple}"
    if short_side < rule.min_side or long_side > rule.max_side:
        return f"sides of {rule.min_side}-{rule.max_side} px"
    if not rule.min_area <= width * height <= rule.max_area:
        return f"an area of {rule.min_area}-{rule.max_area} px"
    if long_side / short_side > rule.max_aspect:
        return f"an aspect ratio of at most {rule.max_aspect:g}:1"
    return None


def _bounds(what: str, low: int, high: int, default_low: int, default_high: int) -> str | None:
    if high == default_high:
        return None if low == default_low else f"{what} at least {low} px"
    return f"{what} at most {high} px" if low == default_low else f"{what} {low}-{high} px"


def _pixel_rule(rule: PixelRule) -> str:
    """``WxH`` and the bounds the catalog states (defaults left out)."""
    default = PixelRule()
    parts = [
        _bounds("sides", rule.min_side, rule.max_side, default.min_side, default.max_side),
        _bounds("area", rule.min_area, rule.max_area, default.min_area, default.max_area),
    ]
    if rule.multiple > 1:
        parts.append(f"sides multiples of {rule.multiple}")
    if rule.max_aspect < default.max_aspect:
        parts.append(f"aspect at most {rule.max_aspect:g}:1")
    stated = [part for part in parts if part is not None]
    return "WxH with " + ", ".join(stated) if stated else "WxH"


def _size_choices(spec: ModelSpec) -> str:
    choices = spec.sizes()
    pixels = spec.size.pixels if spec.size is not None else None
    if pixels is not None and not pixels.only:
        choices = [c for c in choices if c != "WxH"] + [_pixel_rule(pixels)]
    return listed(choices)


def check_size(spec: ModelSpec, size: Any) -> str:
    rule = spec.size
    if rule is None:  # pragma: no cover - check_fields refuses the field first
        raise InvalidRequest("size", f"{spec.id} takes no size")
    if not isinstance(size, str):
        raise InvalidRequest("size", f"size must be a string, one of: {_size_choices(spec)}")
    if (size == "auto" and rule.auto) or size in rule.ratios:
        return size
    pixels = parse_pixels(size)
    if pixels is not None and rule.pixels is not None:
        problem = _pixels_problem(rule.pixels, *pixels)
        if problem is None:
            return size
        raise InvalidRequest("size", f"size {size} needs {problem}; sizes: {_size_choices(spec)}")
    raise InvalidRequest("size", f"size must be one of: {_size_choices(spec)} (got {size})")


def check_choice(param: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRequest(param, f"{param} must be one of: {listed(allowed)} (got {value!r})")
    return value


def check_count(spec: ModelSpec, field: str, value: Any, references: int) -> int:
    rule = spec.n
    allowed = rule.allowed()
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        ranged = not rule.values and len(allowed) > 2
        shown = f"{allowed[0]}-{allowed[-1]}" if ranged else listed(allowed)
        raise InvalidRequest(field, f"{field} must be one of: {shown} (got {value!r})")
    if rule.with_references is not None and references + value > rule.with_references:
        raise InvalidRequest(
            field,
            f"reference images plus {field} must be at most {rule.with_references} "
            f"(got {references} + {value})",
        )
    return value


# ---- options -----------------------------------------------------------------------------


def check_option(name: str, option: OptionRule, value: Any) -> str | int | bool:
    """The option's value as the catalog states it (web search tools -> True)."""
    param = option.wire
    if option.encode == "web_search_tool":
        if value != _WEB_SEARCH_TOOLS:
            raise InvalidRequest(param, f"{param} must be {_WEB_SEARCH_TOOLS} (web search)")
        return True
    if option.type == "bool":
        if not isinstance(value, bool):
            raise InvalidRequest(param, f"{param} must be true or false (got {value!r})")
        return value
    if option.type == "int":
        low = option.min if option.min is not None else -(2**63)
        high = option.max if option.max is not None else 2**63
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidRequest(
                param, f"{param} must be an integer in {low}-{high} (got {value!r})"
            )
        return value
    if option.type == "enum":
        return check_choice(param, value, option.values)
    if not isinstance(value, str):
        raise InvalidRequest(param, f"{param} must be a string")
    if option.max_chars is not None and len(value) > option.max_chars:
        raise InvalidRequest(param, f"{param} must be at most {option.max_chars} characters")
    return value


def _as_key(value: str | int | bool) -> str:
    """A value as the catalog's tables key it (``true``/``false`` for booleans)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_options(
    spec: ModelSpec, body: dict[str, Any], references: int
) -> dict[str, str | int | bool]:
    """Every option given, checked by type, then each value's ``requires``."""
    given: dict[str, str | int | bool] = {}
    for name, option in spec.options.items():
        present, value = read_wire(body, option.wire)
        if present:
            given[name] = check_option(name, option, value)
    for name, value in given.items():
        option = spec.options[name]
        for other, allowed in option.requires.get(_as_key(value), {}).items():
            if other == "references":
                if str(references) not in allowed:
                    raise InvalidRequest(
                        option.wire,
                        f"{option.wire}={value} needs {listed(allowed)} reference image(s) "
                        f"(got {references})",
                    )
                continue
            if other == "quality" and spec.quality is not None:
                present, quality = read_wire(body, spec.quality.wire)
                if present and str(quality) not in allowed:
                    raise InvalidRequest(
                        option.wire,
                        f"{option.wire}={value} needs quality one of: {listed(allowed)} "
                        f"(got {quality})",
                    )
                continue
            if other in given and _as_key(given[other]) not in allowed:
                other_wire = spec.options[other].wire
                raise InvalidRequest(
                    option.wire,
                    f"{option.wire}={value} needs {other_wire} one of: {listed(allowed)} "
                    f"(got {given[other]})",
                )
    return given


def images_per_task(spec: ModelSpec, n: int, options: dict[str, str | int | bool]) -> int:
    """How many images a task makes: an option's override, else the fixed count, else n."""
    for name, value in options.items():
        override = spec.options[name].images.get(_as_key(value))
        if override is not None:
            return override
    return spec.n.fixed if spec.n.fixed is not None else n
