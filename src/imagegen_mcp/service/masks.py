"""Masks in the one form every masked model reads the same way: a PNG, exactly the base image's
pixel size, <= 4 MB, whose pixels to change are transparent AND white (the rest opaque black):
the gpt-image-2 family reads the alpha (transparent = regenerate), while the older gpt-4o-image
mask is documented as white = edit; this form means the same to both. Callers may give a
transparency mask, a black-and-white mask (white = change unless inverted) or
rectangles/ellipses in relative coordinates.

Everything here runs before anything is paid, and refuses what cannot work: a mask of another
aspect ratio, a mask that would change nothing or everything.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from imagegen_mcp.errors import InputError
from imagegen_mcp.imaging import orientation

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_MASK_BYTES = 4 * 1024 * 1024
_ASPECT_TOLERANCE = 0.01


class MaskRegion(BaseModel):
    """A region to change; x, y (top-left), width, height in fractions (0..1) of the image."""

    # A misspelt key ("type" for "shape") must be refused, not quietly become a rectangle.
    model_config = ConfigDict(extra="forbid")

    shape: Literal["rectangle", "ellipse"] = "rectangle"  # an ellipse is inscribed in the box
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    width: float = Field(gt=0, le=1)
    height: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _inside(self) -> MaskRegion:
        if self.x + self.width > 1.0001 or self.y + self.height > 1.0001:
            raise ValueError(
                "the region must lie inside the image (x + width <= 1, y + height <= 1)"
            )
        return self


def _change_alpha(change: Image) -> Image:
    """An 'L' image where 255 marks change -> the canonical RGBA mask (alpha 0 and white =
    change, opaque black = keep)."""
    from PIL import Image, ImageOps

    grey = change.convert("L")
    return Image.merge("RGBA", (grey, grey, grey, ImageOps.invert(grey)))


def mask_from_regions(size: tuple[int, int], regions: list[MaskRegion]) -> bytes:
    from PIL import Image, ImageDraw

    width, height = size
    change = Image.new("L", size, 0)
    draw = ImageDraw.Draw(change)
    for i, r in enumerate(regions):
        box = (
            round(r.x * width),
            round(r.y * height),
            round((r.x + r.width) * width) - 1,
            round((r.y + r.height) * height) - 1,
        )
        if box[2] < box[0] or box[3] < box[1]:
            raise InputError(
                f"mask_region {i} covers less than one pixel of the {width}x{height} image: "
                "make it larger (x, y, width and height are fractions of the image, 0..1)."
            )
        if r.shape == "ellipse":
            draw.ellipse(box, fill=255)
        else:
            draw.rectangle(box, fill=255)
    return _finish(change)


def mask_from_image(data: bytes, size: tuple[int, int], *, invert: bool = False) -> bytes:
    """Canonical mask from a transparency mask or a black-and-white one (white = change)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        img = _as_shown(opened)  # a mask is drawn on the image as shown
        has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
        alpha = img.convert("RGBA").getchannel("A") if has_alpha else None
        # An alpha channel with no transparent pixel says nothing: browsers' canvases export
        # every PNG as RGBA, so a painted black-and-white mask arrives fully opaque.
        lowest = alpha.getextrema()[0] if alpha is not None else 255
        if alpha is not None and isinstance(lowest, int | float) and lowest < 128:
            change = alpha.point(lambda a: 255 if a < 128 else 0)
        else:
            change = img.convert("L").point(lambda v: 255 if v >= 128 else 0)
    if invert:
        change = change.point(lambda v: 255 - v)
    if change.size != size:
        w, h = change.size
        if abs(w / h - size[0] / size[1]) > _ASPECT_TOLERANCE:
            raise InputError(
                f"The mask is {w}x{h} but the image is {size[0]}x{size[1]}: a different aspect "
                "ratio, so it cannot line up. Make a mask of the image's size, or use mask_region."
            )
        change = change.resize(size, Image.Resampling.NEAREST)
    return _finish(change)


def _finish(change: Image) -> bytes:
    lo, hi = change.getextrema()
    if hi == 0:
        raise InputError("The mask marks nothing to change: mark the region to edit.")
    if lo == 255:
        raise InputError(
            "The mask marks the whole image: drop the mask to change everything, or mark less."
        )
    buf = io.BytesIO()
    _change_alpha(change).save(buf, format="PNG", optimize=True)
    if buf.tell() > MAX_MASK_BYTES:
        raise InputError("The mask is larger than 4 MB as PNG; use simpler shapes.")
    return buf.getvalue()


def to_png(data: bytes) -> tuple[bytes, tuple[int, int]]:
    """The pixels as shown (EXIF orientation applied) as PNG, and their size: the upstream
    wants PNG bases for masked edits, and a mask refers to the image as its viewer shows it."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        shown = _as_shown(img)
        if shown.mode not in ("RGB", "RGBA"):
            shown = shown.convert("RGBA" if "A" in shown.getbands() else "RGB")
        buf = io.BytesIO()
        shown.save(buf, format="PNG")
        return buf.getvalue(), shown.size


def _as_shown(img: Image) -> Image:
    """``img`` decoded and turned as its EXIF orientation says it is shown (copied only when it
    must be turned: these can be 50-megapixel images)."""
    from PIL import ImageOps

    if orientation(img) != 1:
        return ImageOps.exif_transpose(img)
    img.load()
    return img
