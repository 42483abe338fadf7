"""What each model accepts, checked before anything is uploaded or paid for."""

from __future__ import annotations

from imagegen_mcp.errors import InputError
from imagegen_mcp.models import MODELS, ModelSpec, TaskRequest


def model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``, or an error listing the models there are."""
    spec = MODELS.get(name)
    if spec is None:
        raise InputError(f"Unknown model {name!r}. Use one of: {', '.join(sorted(MODELS))}.")
    return spec


def validate_request(request: TaskRequest) -> None:
    """Refuse, before anything is paid, what the chosen model cannot do."""
    if not "".join(ch for ch in request.prompt if ch.isprintable()).strip():
        raise InputError(
            "The prompt is empty (only spaces or control characters): pass a description of "
            "the image in words."
        )
    spec = model_spec(request.model)
    if request.size not in spec.sizes:
        raise InputError(f"{spec.name} does not support size {request.size!r}.")
    if request.n not in spec.counts:
        raise InputError(f"{spec.name} makes {spec.counts} images per task, not {request.n}.")
    if len(request.image_urls) > spec.max_references:
        raise InputError(f"{spec.name} takes at most {spec.max_references} reference images.")
    if len(request.prompt) > spec.max_prompt_chars:
        raise InputError(f"The prompt is longer than {spec.max_prompt_chars} characters.")
    if request.mask_url is not None:
        if not spec.supports_mask:
            raise InputError(f"{spec.name} does not support masks; use gpt-4o-image.")
        if len(request.image_urls) != 1:
            raise InputError("A mask edits exactly one image: pass one base image with the mask.")
