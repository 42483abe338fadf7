"""Deterministic stand-in images: gradients for generations, tinted references for edits,
encoded as the task asks (PNG, JPEG or WebP; transparent backgrounds keep an alpha channel).

Every byte is derived from (model, prompt, index) so tests can compare outputs exactly; nothing
here pretends to be a generator. Rendering stays cheap (no per-pixel Python loops) because the
sandbox renders on demand while a client waits.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

#: Pillow format name -> MIME type the files API accepts.
ACCEPTED_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}

_THUMB_FRACTION = 5  # extra references are pasted at 1/5 of the output width


class RenderError(Exception):
    """An input the upstream would reject while processing: becomes the task's error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image
    format: str


def _digest(model: str, prompt: str, index: int) -> bytes:
    return hashlib.sha256(f"{model}|{prompt}|{index}".encode()).digest()


def _colour(seed: bytes, offset: int) -> tuple[int, int, int]:
    return (seed[offset], seed[offset + 1], seed[offset + 2])


def encode(image: Image.Image, output_format: str = "png") -> bytes:
    """``image`` as PNG, JPEG or WebP bytes (alpha kept where the format has it)."""
    out = io.BytesIO()
    if output_format == "jpeg":
        image.convert("RGB").save(out, format="JPEG", quality=85)
    elif output_format == "webp":
        image.save(out, format="WEBP", quality=80, method=0)
    else:
        # Level 1 keeps a 1536x1024 encode in the tens of milliseconds; size does not matter.
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _gradient(seed: bytes, width: int, height: int, transparent: bool = False) -> Image.Image:
    """A two-colour gradient with three shapes; ``transparent``: only the shapes are opaque."""
    angle = seed[0] * 360 / 256
    ramp = Image.linear_gradient("L").rotate(angle, resample=Image.Resampling.BILINEAR)
    # The rotation leaves black corners; crop to the inner square that is always covered.
    ramp = ramp.crop((48, 48, 208, 208)).resize((width, height), Image.Resampling.BILINEAR)
    start = Image.new("RGB", (width, height), _colour(seed, 1))
    end = Image.new("RGB", (width, height), _colour(seed, 4))
    canvas = Image.composite(start, end, ramp)
    draw = ImageDraw.Draw(canvas)
    alpha = Image.new("L", (width, height), 0)
    cutout = ImageDraw.Draw(alpha)
    for shape in range(3):
        base = 7 + shape * 8
        x0 = seed[base] * width // 256
        y0 = seed[base + 1] * height // 256
        size = (32 + seed[base + 2]) * min(width, height) // 512
        box = (x0, y0, x0 + size, y0 + size)
        fill = _colour(seed, base + 3)
        if seed[base + 6] % 2:
            draw.ellipse(box, fill=fill)
            cutout.ellipse(box, fill=255)
        else:
            draw.rectangle(box, fill=fill)
            cutout.rectangle(box, fill=255)
    if transparent:
        canvas.putalpha(alpha)
    return canvas


def render_generation(
    model: str,
    prompt: str,
    index: int,
    size: tuple[int, int],
    output_format: str = "png",
    transparent: bool = False,
) -> bytes:
    """An image of exactly ``size`` whose content depends only on model, prompt and index."""
    width, height = size
    image = _gradient(_digest(model, prompt, index), width, height, transparent)
    return encode(image, output_format)


def check_reference(data: bytes, max_bytes: int, formats: tuple[str, ...]) -> tuple[int, int]:
    """(width, height) of a reference image the model takes, else ``RenderError``."""
    if len(data) > max_bytes:
        raise RenderError(
            "image_processing_error",
            f"reference image is {len(data)} bytes; this model takes at most {max_bytes}",
        )
    decoded = decode_image(data)
    if decoded.format.lower() not in formats:
        raise RenderError(
            "image_processing_error",
            f"reference image is {decoded.format}; this model takes: {', '.join(formats)}",
        )
    width, height = decoded.image.size
    return (width, height)


def decode_image(data: bytes) -> DecodedImage:
    """Open and fully decode ``data``; raises ``RenderError`` when Pillow cannot read it."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises many unrelated types for bad input
        raise RenderError("image_processing_error", f"cannot decode image: {exc}") from exc
    return DecodedImage(image=image, format=image.format or "")


def sniff_mime(data: bytes) -> str | None:
    """The MIME type of an accepted, decodable image, or None."""
    try:
        decoded = decode_image(data)
    except RenderError:
        return None
    return ACCEPTED_FORMATS.get(decoded.format)


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info


def _edit_region(mask: DecodedImage, reference: Image.Image) -> Image.Image:
    """An "L" image: 255 where the mask is fully transparent (region to change), else 0."""
    if mask.format != "PNG":
        raise RenderError("image_dimension_mismatch", "mask must be a PNG")
    if mask.image.size != reference.size:
        raise RenderError(
            "image_dimension_mismatch",
            f"mask is {mask.image.size[0]}x{mask.image.size[1]} but the reference is "
            f"{reference.size[0]}x{reference.size[1]}",
        )
    if not _has_alpha(mask.image):
        raise RenderError("invalid_parameters", "mask must have an alpha channel")
    alpha = mask.image.convert("RGBA").getchannel("A")
    return alpha.point(lambda a: 255 if a == 0 else 0)


def _recolour(image: Image.Image, seed: bytes) -> Image.Image:
    # XOR with a byte whose top bit is set changes every colour channel of every pixel, so the
    # edited region provably differs from the input whatever the input was.
    tables: list[int] = []
    for band_index, band in enumerate(image.getbands()):
        key = 0 if band == "A" else 0x80 | (seed[band_index] & 0x7F)
        tables.extend(value ^ key for value in range(256))
    return image.point(tables)


def render_edit(
    model: str,
    prompt: str,
    index: int,
    size: tuple[int, int],
    references: list[bytes],
    mask: bytes | None,
    output_format: str = "png",
    transparent: bool = False,
) -> bytes:
    """An image of ``size`` derived from the first reference (and mask), tinted by the prompt;
    ``transparent`` keeps the first reference's alpha."""
    seed = _digest(model, prompt, index)
    decoded = [decode_image(data) for data in references]
    base = decoded[0].image
    if mask is not None:
        if decoded[0].format != "PNG":
            raise RenderError("invalid_parameters", "with mask_url the reference must be a PNG")
        working = base.convert("RGBA" if _has_alpha(base) else "RGB")
        region = _edit_region(decode_image(mask), base)
        edited = Image.composite(_recolour(working, seed), working, region)
        if edited.size != size:
            edited = edited.resize(size, Image.Resampling.BILINEAR)
        return encode(edited, output_format)
    canvas = ImageOps.fit(base.convert("RGB"), size, Image.Resampling.BILINEAR)
    canvas = Image.blend(canvas, _gradient(seed, *size), 0.35)
    thumb_width = size[0] // _THUMB_FRACTION
    for position, extra in enumerate(decoded[1:]):
        thumb = ImageOps.fit(extra.image.convert("RGB"), (thumb_width, thumb_width))
        canvas.paste(thumb, (position * thumb_width, size[1] - thumb_width))
    if transparent:
        fitted = ImageOps.fit(base.convert("RGBA"), size, Image.Resampling.BILINEAR)
        canvas.putalpha(fitted.getchannel("A"))
    return encode(canvas, output_format)
