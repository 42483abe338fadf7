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
        description="What to draw (or how to change the image), in plain words; each model's "
        "length limit is in list_models.",
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
        description="Model id (list_models shows them all); default: the server's.",
    ),
]
SizeArg = Annotated[
    str | None,
    Field(max_length=16, description="'auto', a ratio like 16:9, or pixels like 1024x1536."),
]
TierArg = Annotated[Tier | None, Field(description="Output resolution tier.")]
QualityArg = Annotated[Quality | None, Field(description="Rendering quality.")]
CountArg = Annotated[
    int | None,
    Field(ge=1, le=MAX_IMAGES_PER_TASK, description="Images per task; each costs credits."),
]
OptionsArg = Annotated[
    dict[str, OptionValue] | None,
    Field(max_length=16, description="Model extras, e.g. seed, negative_prompt, background."),
]
WaitArg = Annotated[
    float | None,
    Field(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Seconds to wait for the result in this call (default 40, max "
        f"{MAX_WAIT_SECONDS:g}). 0 returns "
        "the task id at once. If time runs out, call get_task with the task id.",
    ),
]
RequestId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Optional idempotency key: calling again with the same key returns the "
        "first task instead of paying for a new one.",
    ),
]
PreviewArg = Annotated[
    PreviewMode,
    Field(
        description="'thumbnail' (default: small JPEG previews), 'full' (full-resolution image "
        "inline; large), or 'none' (paths and links only)."
    ),
]
TaskId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The task_id from generate_image or edit_image (e.g. 'ig-3f9a0c1b2d4e').",
    ),
]
ImageRef = Annotated[str, Field(min_length=1, max_length=MAX_IMAGE_ARG_CHARS)]
