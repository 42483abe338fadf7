"""What each model accepts, checked against the catalog before anything is uploaded or paid.

``check_request`` is called twice: by the tools with the number of input images they are about
to upload (nothing is uploaded if it refuses), and by the engine on the final request. Each
problem is one sentence that names what the model does take; the values a request chooses
(options, n, size, resolution, quality) are all checked before refusing, so one refusal names
every such problem at once rather than one per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from imagegen_mcp.catalog import catalog, parse_pixels, parse_ratio
from imagegen_mcp.errors import InputError
from imagegen_mcp.models import OptionValue, TaskRequest
from imagegen_mcp.service.wire import wire_prompt

if TYPE_CHECKING:
    from imagegen_mcp.catalog.spec import ModelSpec, OptionRule


def model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``, or an error naming the closest ones."""
    models = catalog().models
    spec = models.get(name)
    if spec is None:
        import difflib  # only for a refusal: not loaded at start-up

        close = difflib.get_close_matches(name, list(models), n=3, cutoff=0.4)
        hint = f" Closest: {', '.join(close)}." if close else ""
        raise InputError(
            f"Unknown model {name[:64]!r}.{hint} list_models (or `imagegen-mcp models`) shows "
            f"all {len(models)}."
        )
    return spec


def _link_room(value: str) -> str:
    """What an input will take in a prompt: a URL itself, anything else an upload's link."""
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):
        return value
    return "x" * UPLOADED_URL_ROOM


def typical_duration(model: str) -> float | None:
    """Seconds a task of ``model`` usually takes (None for a model no longer in the catalog)."""
    spec = catalog().get(model)
    return None if spec is None else spec.duration


def _listing(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


def mask_models() -> str:
    """Ids of the models that take a mask."""
    return ", ".join(m.id for m in catalog().models.values() if m.mask is not None)


def normalize_size(size: str) -> str:
    """Pixel sizes as ``WxH`` (from ``WXH`` or a multiplication sign); ratios, ``auto`` as given."""
    size = size.strip()
    pixels = parse_pixels(size)
    return f"{pixels[0]}x{pixels[1]}" if pixels is not None else size.lower()


def _check_size(spec: ModelSpec, size: str, n: int) -> None:
    rule = spec.size
    if rule is None:
        raise InputError(
            f"{spec.id} has no size setting (its output follows the input image): omit size."
        )
    takes = f"{spec.id} takes size {_listing(spec.sizes())}"
    if size == "auto":
        if not rule.auto:
            raise InputError(f"{takes}, not auto.")
        return
    if parse_ratio(size) is not None:
        if size not in rule.ratios:
            raise InputError(f"{takes}, not {size}.")
        return
    pixels = parse_pixels(size)
    if pixels is None:
        raise InputError(
            f"size {size[:32]!r} is not a ratio like 16:9, 'auto' or pixels like 1024x1024; "
            f"{takes}."
        )
    if rule.single_image_only and n != 1:
        raise InputError(f"{spec.id} takes an explicit size only with n = 1: omit size or n.")
    _check_pixels(spec, size, pixels)


def _check_pixels(spec: ModelSpec, size: str, pixels: tuple[int, int]) -> None:
    assert spec.size is not None
    rule = spec.size.pixels
    if rule is None:
        raise InputError(f"{spec.id} takes ratios, not pixel sizes: {_listing(spec.sizes())}.")
    if rule.only:
        if size not in rule.only:
            raise InputError(f"{spec.id} takes size {_listing(spec.sizes())}, not {size}.")
        return
    width, height = pixels
    area = width * height
    aspect = max(width, height) / max(1, min(width, height))
    problems = []
    if width % rule.multiple or height % rule.multiple:
        problems.append(f"both sides a multiple of {rule.multiple}")
    if min(width, height) < rule.min_side or max(width, height) > rule.max_side:
        problems.append(f"each side {rule.min_side}-{rule.max_side} px")
    if not rule.min_area <= area <= rule.max_area:
        problems.append(f"{rule.min_area:,}-{rule.max_area:,} pixels in all")
    if aspect > rule.max_aspect:
        problems.append(f"an aspect ratio within {rule.max_aspect:g}:1")
    if problems:
        raise InputError(f"{spec.id} takes pixel sizes with {' and '.join(problems)}; not {size}.")


def _check_resolution(spec: ModelSpec, request: TaskRequest) -> None:
    if request.resolution is not None:
        if spec.resolution is None:
            raise InputError(f"{spec.id} has no resolution tiers: omit resolution.")
        if request.resolution not in spec.resolution.values:
            raise InputError(
                f"{spec.id} takes resolution {_listing(spec.resolution.values)}, "
                f"not {request.resolution}."
            )


def _check_quality(spec: ModelSpec, request: TaskRequest) -> None:
    if request.quality is not None:
        if spec.quality is None:
            raise InputError(f"{spec.id} has no quality setting: omit quality.")
        if request.quality not in spec.quality.values:
            raise InputError(
                f"{spec.id} takes quality {_listing(spec.quality.values)}, not {request.quality}."
            )


def _coerce(spec: ModelSpec, name: str, rule: OptionRule, value: OptionValue) -> OptionValue:
    """The option's value in its type (text from the command line is converted), or a refusal."""
    where = f"Option {name} of {spec.id}"
    if rule.type == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise InputError(f"{where} is true or false, not {value!r}.")
        return value
    if rule.type == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where} is a whole number, not {value!r}.")
        low = rule.min if rule.min is not None else value
        high = rule.max if rule.max is not None else value
        if not low <= value <= high:
            raise InputError(f"{where} is between {rule.min} and {rule.max}, not {value}.")
        return value
    if not isinstance(value, str):
        raise InputError(f"{where} is text, not {value!r}.")
    if rule.type == "enum" and value not in rule.values:
        raise InputError(f"{where} takes {_listing(rule.values)}, not {value[:32]!r}.")
    if rule.max_chars is not None and len(value) > rule.max_chars:
        raise InputError(f"{where} is at most {rule.max_chars} characters, not {len(value)}.")
    return value


def _check_options(
    spec: ModelSpec, request: TaskRequest, references: int
) -> tuple[dict[str, OptionValue], int | None]:
    """The options coerced to their types, and the image count an option implies (if any)."""
    unknown = sorted(set(request.options) - set(spec.options))
    if unknown:
        takes = f"takes options {_listing(spec.options)}" if spec.options else "takes no options"
        raise InputError(f"{spec.id} {takes}; not {_listing(unknown)}.")
    options = {
        name: _coerce(spec, name, spec.options[name], value)
        for name, value in request.options.items()
    }
    implied: int | None = None
    for name, value in options.items():
        rule = spec.options[name]
        key = str(value).lower() if isinstance(value, bool) else str(value)
        implied = rule.images.get(key, implied)
        for other, allowed in rule.requires.get(key, {}).items():
            given: object = {"references": str(references), "quality": request.quality}.get(
                other, options.get(other)
            )
            if given is not None and str(given) not in allowed:
                raise InputError(
                    f"{spec.id} with {name}={key} needs {other} {_listing(allowed)}, not {given}."
                )
    return options, implied


def _check_count(spec: ModelSpec, request: TaskRequest, implied: int | None, refs: int) -> int:
    rule = spec.n
    if implied is not None or rule.fixed is not None:
        count = implied if implied is not None else rule.default
        if request.n is not None and request.n != count:
            raise InputError(f"{spec.id} makes {count} images per task here: omit n.")
        return count
    n = request.n if request.n is not None else rule.default
    if n not in rule.allowed():
        allowed = rule.allowed()
        span = (
            _listing(allowed) if rule.values or len(allowed) == 1 else f"{allowed[0]}-{allowed[-1]}"
        )
        one = " (one image per task)" if allowed == (1,) else ""
        raise InputError(f"{spec.id} takes n {span}{one}, not {n}.")
    if rule.with_references is not None and refs + n > rule.with_references:
        raise InputError(
            f"{spec.id} makes at most {rule.with_references} images minus the {refs} "
            f"reference images: use n <= {rule.with_references - refs}."
        )
    return n


def _check_references(spec: ModelSpec, request: TaskRequest, refs: int, mask: bool) -> None:
    rule = spec.references
    if refs == 0 and spec.edit_only:
        raise InputError(
            f"{spec.id} only edits images: pass {rule.min}-{rule.max} input images "
            "(reference_images, or edit_image's image)."
        )
    if refs > 0 and "edit" not in spec.modes:
        raise InputError(
            f"{spec.id} is text-to-image only and takes no input images; list_models "
            "with capability edit (`imagegen-mcp models --capability edit`) shows the models "
            "that do."
        )
    if refs > rule.max:
        raise InputError(f"{spec.id} takes at most {rule.max} input images, not {refs}.")
    if mask:
        if spec.mask is None:
            raise InputError(f"{spec.id} takes no mask; the models that do: {mask_models()}.")
        if refs != 1:
            raise InputError("A mask edits exactly one image: pass one base image with the mask.")


def _check_prompt(spec: ModelSpec, prompt: str) -> None:
    if not "".join(ch for ch in prompt if ch.isprintable()).strip():
        raise InputError(
            "The prompt is empty (only spaces or control characters): pass a description of "
            "the image in words."
        )
    rule = spec.prompt
    if rule.max_chars is not None and len(prompt) > rule.max_chars:
        raise InputError(
            f"The prompt has {len(prompt):,} characters; {spec.id} takes at most "
            f"{rule.max_chars:,}."
        )
    size = len(prompt.encode("utf-8", "surrogatepass"))
    if rule.max_bytes is not None and size > rule.max_bytes:
        raise InputError(
            f"The prompt is {size:,} bytes in UTF-8; {spec.id} takes at most {rule.max_bytes:,}."
        )
    # Tokens cannot be counted here; every word is at least one token, so more words than the
    # limit certainly exceed it. Anything closer is left to the upstream, whose refusal is
    # reported as it comes.
    words = len(prompt.split())
    if rule.max_tokens is not None and words > rule.max_tokens:
        raise InputError(
            f"The prompt has {words:,} words, over {spec.id}'s limit of {rule.max_tokens:,} "
            "tokens: shorten it."
        )


#: Room for the link of one uploaded input in a prompt that carries its references (Midjourney):
#: more than a files-API URL takes, so a prompt checked before the upload still fits after it.
UPLOADED_URL_ROOM = 160


@contextmanager
def _noting(problems: list[str]) -> Iterator[None]:
    """Adds the refusal of the checks inside to ``problems`` instead of raising it at once."""
    try:
        yield
    except InputError as exc:
        problems.append(str(exc))


def check_request(
    request: TaskRequest, *, inputs: Sequence[str] | None = None, mask: bool | None = None
) -> TaskRequest:
    """The request with its size normalised, n resolved and options typed; or ``InputError``.

    ``inputs`` / ``mask`` say what the caller is about to upload (before the URLs exist): the
    input images as given (an http(s) URL goes as it is; anything else becomes an upload link
    of at most ``UPLOADED_URL_ROOM`` characters). By default the request's own ``image_urls`` /
    ``mask_url`` are counted.
    """
    spec = model_spec(request.model)
    refs = len(request.image_urls) if inputs is None else len(inputs)
    has_mask = request.mask_url is not None if mask is None else mask
    _check_prompt(spec, request.prompt)
    _check_references(spec, request, refs, has_mask)
    size = None if request.size is None else normalize_size(request.size)
    problems: list[str] = []
    options, implied = dict(request.options), None
    with _noting(problems):
        options, implied = _check_options(spec, request, refs)
    n = request.n if request.n is not None else spec.n.default
    with _noting(problems):
        n = _check_count(spec, request, implied, refs)
    if size is not None:
        with _noting(problems):
            _check_size(spec, size, n)
            words = request.prompt.split()
            if (
                spec.size is not None
                and spec.size.field == "--ar"
                and {"--ar", "--aspect"} & set(words)
            ):
                raise InputError(
                    "Give the aspect ratio once: as size, or as --ar in the prompt, not both."
                )
    with _noting(problems):
        _check_resolution(spec, request)
    with _noting(problems):
        _check_quality(spec, request)
    if problems:
        raise InputError(" ".join(problems))
    checked = request.model_copy(update={"size": size, "n": n, "options": options})
    links = checked.image_urls if inputs is None else [_link_room(value) for value in inputs]
    sent = wire_prompt(spec, checked.model_copy(update={"image_urls": links}))
    if sent != request.prompt:  # Midjourney: references and --ar travel in the prompt
        _check_prompt(spec, sent)
    return checked
