"""The tools' argument types: one vocabulary across models, described for the calling model.

Which values each model takes is the catalog's business (``list_models``); these types only
bound what any model could take, so a schema stays small whatever the catalog holds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from imagegen_mcp.models import (
    MAX_IMAGES_PER_TASK,
    MAX_PROMPT_CHARS,
    MAX_WAIT_SECONDS,
    OptionValue,
)
from imagegen_mcp.service.decoding import MAX_IMAGE_ARG_CHARS
from imagegen_mcp.tools.previews import PreviewMode

Prompt = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        description="What to draw or change.",
    ),
]
#: The vocabulary is one across models; list_models says which values each model takes.
Tier = Literal["0.5K", "1K", "1.5K", "2K", "3K", "4K"]
Quality = Literal["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"]
ModelArg = Annotated[
    str | None,
    Field(
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="A list_models id.",
    ),
]
SizeArg = Annotated[
    str | None,
    Field(max_length=16, description="auto, a ratio (16:9) or pixels (1024x1536)."),
]
TierArg = Annotated[Tier | None, Field()]
QualityArg = Annotated[Quality | None, Field()]
CountArg = Annotated[
    int | None,
    Field(ge=1, le=MAX_IMAGES_PER_TASK, description="Images per task, each paid."),
]
OptionsArg = Annotated[
    dict[str, OptionValue] | None,
    Field(max_length=16, description="Model extras, e.g. seed."),
]
WaitArg = Annotated[
    float | None,
    Field(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description=f"Seconds to wait, 0-{MAX_WAIT_SECONDS:g} (default 40).",
    ),
]
RequestId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Idempotency key: a repeat returns the same task.",
    ),
]
PreviewArg = Annotated[
    PreviewMode,
    Field(description="Inline images: small previews, full size, or none."),
]
TaskId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="From generate_image or edit_image.",
    ),
]
ImageRef = Annotated[str, Field(max_length=MAX_IMAGE_ARG_CHARS)]  # "" is refused, in words
