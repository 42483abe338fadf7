"""The create endpoint's request rules, taken from the upstream docs and the ``MODELS`` table."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from imagegen_mcp.models import MODELS
from imagegen_mcp.netaddr import is_loopback, literal_address
from imagegen_mcp.sandbox.tasks import TaskParams

MAX_URL_CHARS = 2048


class InvalidRequest(Exception):
    """A create request the upstream answers with 400, naming the offending parameter."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


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


def _check_url_list(value: Any, max_items: int) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidRequest("image_urls", "image_urls must be a list of URLs")
    if len(value) > max_items:
        raise InvalidRequest("image_urls", f"image_urls accepts at most {max_items} images")
    for item in value:
        if not isinstance(item, str) or urlsplit(item).scheme not in ("http", "https"):
            raise InvalidRequest("image_urls", "every image_urls entry must be an http(s) URL")
        if len(item) > MAX_URL_CHARS:
            raise InvalidRequest("image_urls", f"image URLs must be at most {MAX_URL_CHARS} chars")
    return tuple(value)


def validate_create(body: Any, *, strict_callbacks: bool) -> TaskParams:
    """Check a create body; raises ``InvalidRequest`` on the first rule it breaks."""
    if not isinstance(body, dict):
        raise InvalidRequest(None, "request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or model not in MODELS:
        raise InvalidRequest("model", f"model must be one of: {', '.join(MODELS)}")
    spec = MODELS[model]
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt", "prompt is required and must be a non-empty string")
    if len(prompt) > spec.max_prompt_chars:
        raise InvalidRequest("prompt", f"prompt must be at most {spec.max_prompt_chars} chars")
    size = body.get("size", "1:1")
    if not isinstance(size, str) or size not in spec.sizes:
        raise InvalidRequest("size", f"size must be one of: {', '.join(spec.sizes)}")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or n not in spec.counts:
        allowed = ", ".join(str(count) for count in spec.counts)
        raise InvalidRequest("n", f"n must be one of: {allowed}")
    raw_urls = body.get("image_urls")
    image_urls = _check_url_list(raw_urls, spec.max_references) if raw_urls is not None else ()
    mask_url = body.get("mask_url")
    if mask_url is not None:
        if not spec.supports_mask:
            raise InvalidRequest("mask_url", f"{model} does not accept mask_url")
        if not isinstance(mask_url, str) or urlsplit(mask_url).scheme not in ("http", "https"):
            raise InvalidRequest("mask_url", "mask_url must be an http(s) URL")
        if len(image_urls) != 1:
            raise InvalidRequest("mask_url", "mask_url requires exactly one entry in image_urls")
    callback_url = body.get("callback_url")
    if callback_url is not None:
        callback_url = _check_callback(callback_url, strict_callbacks)
    return TaskParams(
        model=model,
        prompt=prompt,
        size=size,
        n=n,
        image_urls=image_urls,
        mask_url=mask_url,
        callback_url=callback_url,
    )
