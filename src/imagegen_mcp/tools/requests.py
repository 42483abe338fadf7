"""The request generate_image and edit_image pay for, built and checked against the catalog in
one place: by the tools, and before that by the question IMAGEGEN_CONFIRM_ABOVE_CREDITS asks
(``tools.confirm``). Checked before anything is asked, uploaded or paid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from imagegen_mcp.models import OptionValue, TaskRequest
from imagegen_mcp.service.masks import MaskRegion
from imagegen_mcp.service.validation import check_request


@dataclass(frozen=True)
class Choice:
    """What generate_image and edit_image both take: the model and what to ask it for."""

    model: str | None
    size: str | None
    resolution: str | None
    quality: str | None
    n: int | None
    options: dict[str, OptionValue] | None

    def request(
        self, default_model: str, prompt: str, kind: Literal["generate", "edit"]
    ) -> TaskRequest:
        return TaskRequest(
            prompt=prompt,
            model=self.model or default_model,
            size=self.size,
            resolution=self.resolution,
            quality=self.quality,
            n=self.n,
            options=self.options or {},
            kind=kind,
        )


def generate_request(
    default_model: str, prompt: str, choice: Choice, reference_images: list[str]
) -> TaskRequest:
    request = choice.request(default_model, prompt, "generate")
    return check_request(request, inputs=reference_images)


def edit_request(
    default_model: str,
    prompt: str,
    choice: Choice,
    image: str,
    mask: str | None,
    mask_region: list[MaskRegion] | None,
) -> TaskRequest:
    masked = mask is not None or bool(mask_region)
    request = choice.request(default_model, prompt, "edit")
    return check_request(request, inputs=[image], mask=masked)
