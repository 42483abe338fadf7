"""A checked request as the upstream's create body, mapped through the model's catalog entry.

The caller's vocabulary is one across models; each model names its fields its own way: the
tier is ``resolution`` for some and ``quality`` for others, extras sit at the top level or
under ``model_params``, and Midjourney takes its ratio and references inside the prompt.
Nothing the catalog does not name is ever sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imagegen_mcp.models import TaskRequest

if TYPE_CHECKING:
    from imagegen_mcp.catalog.spec import ModelSpec


def callback_path(token: str) -> str:
    """The server's route for the upstream's callback on one task (``callback_url``'s path)."""
    return f"/callbacks/evolink/{token}"


def _put(body: dict[str, Any], path: str, value: object) -> None:
    """Set ``value`` at a dotted ``path`` (``model_params.speed``), creating nested objects."""
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value


def wire_prompt(spec: ModelSpec, request: TaskRequest) -> str:
    """The prompt as sent: Midjourney's carries the references first and the ratio as --ar."""
    parts = [request.prompt]
    if spec.references.placement == "prompt" and request.image_urls:
        parts = [*request.image_urls, request.prompt]
    if spec.size is not None and spec.size.field == "--ar" and request.size is not None:
        parts.append(f"--ar {request.size}")
    return " ".join(parts)


def create_body(spec: ModelSpec, request: TaskRequest, callback_url: str | None) -> dict[str, Any]:
    """The JSON body of ``POST /v1/images/generations`` for a request ``check_request`` passed."""
    body: dict[str, Any] = {"model": spec.id, "prompt": wire_prompt(spec, request)}
    if request.size is not None and spec.size is not None and spec.size.field == "size":
        body["size"] = request.size
    if request.resolution is not None and spec.resolution is not None:
        body[spec.resolution.field] = request.resolution
    if request.quality is not None and spec.quality is not None:
        _put(body, spec.quality.wire, request.quality)
    if spec.n.field:
        body[spec.n.field] = request.count
    if request.image_urls and spec.references.placement == "image_urls":
        body["image_urls"] = list(request.image_urls)
    if request.mask_url is not None and spec.mask is not None:
        body[spec.mask.field] = request.mask_url
    for name, value in request.options.items():
        rule = spec.options[name]
        if rule.encode == "web_search_tool":
            if value is True:
                _put(body, rule.wire, [{"type": "web_search"}])
            continue
        _put(body, rule.wire, value)
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body
