"""The create endpoint's request rules: the common ones (callbacks, URLs) here, each model's
from the catalog through ``rules``. A body is checked as the upstream gets it, on the wire."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from imagegen_mcp.catalog import catalog
from imagegen_mcp.catalog.spec import ModelSpec
from imagegen_mcp.catalog.vocabulary import ImageFormat
from imagegen_mcp.netaddr import is_loopback, literal_address
from imagegen_mcp.sandbox import rules
from imagegen_mcp.sandbox.rules import InvalidRequest
from imagegen_mcp.sandbox.tasks import TaskParams

__all__ = ["InvalidRequest", "validate_create"]

MAX_URL_CHARS = 2048


def _is_internal_host(host: str) -> bool:
    if is_loopback(host) or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    if address is None:
        return False  # a name: the upstream resolves it, the sandbox cannot
    return (
        address.is_private or address.is_link_local or address.is_unspecified or address.is_reserved
    )


def _check_callback(url: Any, strict: bool) -> str:
    """The real rule (https, no internal IPs); non-strict mode also admits loopback."""
    if not isinstance(url, str) or not url:
        raise InvalidRequest("callback_url", "callback_url must be a non-empty string")
    if len(url) > MAX_URL_CHARS:
        raise InvalidRequest("callback_url", f"callback_url must be at most {MAX_URL_CHARS} chars")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not strict and parts.scheme in ("http", "https") and is_loopback(host):
        return url  # the one exemption from the real rule, so tests can receive callbacks
    if parts.scheme != "https" or not host:
        raise InvalidRequest("callback_url", "callback_url must be an HTTPS URL")
    if _is_internal_host(host):
        raise InvalidRequest("callback_url", "callback_url must not point to an internal IP")
    return url


def _check_url_list(value: Any, spec: ModelSpec) -> tuple[str, ...]:
    low, high = spec.references.min, spec.references.max
    if not isinstance(value, list):
        raise InvalidRequest("image_urls", "image_urls must be a list of URLs")
    if len(value) > high:
        raise InvalidRequest("image_urls", f"image_urls accepts at most {high} images")
    if len(value) < low:
        raise InvalidRequest("image_urls", f"{spec.id} needs {low}-{high} images in image_urls")
    for item in value:
        if not isinstance(item, str) or urlsplit(item).scheme not in ("http", "https"):
            raise InvalidRequest("image_urls", "every image_urls entry must be an http(s) URL")
        if len(item) > MAX_URL_CHARS:
            raise InvalidRequest("image_urls", f"image URLs must be at most {MAX_URL_CHARS} chars")
    return tuple(value)


def _model(body: Any) -> ModelSpec:
    if not isinstance(body, dict):
        raise InvalidRequest(None, "request body must be a JSON object")
    models = catalog().models
    model = body.get("model")
    if not isinstance(model, str) or model not in models:
        raise InvalidRequest("model", f"model must be one of: {', '.join(models)}")
    return models[model]


def _references(spec: ModelSpec, body: dict[str, Any], prompt: str) -> tuple[str, ...]:
    if spec.references.placement == "prompt":
        urls = rules.split_prompt_references(spec, prompt)
        for url in urls:
            if len(url) > MAX_URL_CHARS:
                raise InvalidRequest("prompt", f"image URLs must be at most {MAX_URL_CHARS} chars")
        return urls
    raw = body.get("image_urls")
    if raw is None and spec.references.min > 0:
        raise InvalidRequest("image_urls", f"{spec.id} needs image_urls (an edit-only model)")
    return _check_url_list(raw, spec) if raw is not None else ()


def _mask(spec: ModelSpec, body: dict[str, Any], image_urls: tuple[str, ...]) -> str | None:
    if spec.mask is None or spec.mask.field not in body:
        return None
    field = spec.mask.field
    mask_url = body[field]
    if not isinstance(mask_url, str) or urlsplit(mask_url).scheme not in ("http", "https"):
        raise InvalidRequest(field, f"{field} must be an http(s) URL")
    if len(mask_url) > MAX_URL_CHARS:
        raise InvalidRequest(field, f"{field} must be at most {MAX_URL_CHARS} chars")
    if not image_urls:
        raise InvalidRequest(field, f"{field} needs the base image as the first image_urls entry")
    return mask_url


def _size(spec: ModelSpec, body: dict[str, Any], prompt: str) -> str | None:
    if spec.size is not None and spec.size.field == "--ar":
        return rules.aspect_in_prompt(spec, prompt)
    return rules.check_size(spec, body["size"]) if "size" in body else None


def validate_create(body: Any, *, strict_callbacks: bool) -> TaskParams:
    """Check a create body for its model; raises ``InvalidRequest`` on the first rule it breaks."""
    spec = _model(body)
    rules.check_fields(spec, body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt", "prompt is required and must be a non-empty string")
    rules.check_prompt(spec, prompt)
    image_urls = _references(spec, body, prompt)
    size = _size(spec, body, prompt)
    tier = None
    if spec.resolution is not None and spec.resolution.field in body:
        field = spec.resolution.field
        tier = rules.check_choice(field, body[field], spec.resolution.values)
    quality = None
    if spec.quality is not None:
        present, value = rules.read_wire(body, spec.quality.wire)
        if present:
            quality = rules.check_choice(spec.quality.wire, value, spec.quality.values)
    n = 1
    if spec.n.field is not None:
        n = rules.check_count(
            spec, spec.n.field, body.get(spec.n.field, spec.n.default), len(image_urls)
        )
    if size is not None and spec.size is not None and spec.size.single_image_only and n != 1:
        raise InvalidRequest("size", f"an explicit size needs {spec.n.field or 'n'} = 1")
    mask_url = _mask(spec, body, image_urls)
    options = rules.check_options(spec, body, len(image_urls))
    callback_url = body.get("callback_url")
    if callback_url is not None:
        callback_url = _check_callback(callback_url, strict_callbacks)
    return TaskParams(
        model=spec.id,
        prompt=prompt,
        size=size,
        tier=tier,
        quality=quality,
        n=rules.images_per_task(spec, n, options),
        image_urls=image_urls,
        mask_url=mask_url,
        output_format=_output_format(spec, options),
        transparent=options.get("background") == "transparent",
        callback_url=callback_url,
    )


def _output_format(spec: ModelSpec, options: dict[str, str | int | bool]) -> ImageFormat:
    """The format results come in: as asked, else the model's; transparency needs an alpha one."""
    asked = options.get("output_format")
    chosen: ImageFormat = spec.output_format
    if asked in ("png", "jpeg", "webp"):
        chosen = cast("ImageFormat", asked)
    if options.get("background") == "transparent" and chosen == "jpeg":
        return "png"
    return chosen
