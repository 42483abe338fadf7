"""Caller-supplied images: local paths, data URIs, http(s) URLs and our own ``image://`` URIs.

Local files and data URIs are read only from the allowed directories, must be a real PNG, JPEG
or WebP that decodes (so no text file, key or config can leave the machine dressed as an image),
are at most the model's reference size (``ModelSpec.max_reference_bytes``), and are uploaded
through EvoLink's files API, cached by content hash while the upload is valid. Public http(s)
URLs pass through untouched: the upstream fetches them, not us.

Every decode (the check that an input is an image, measuring a base, building a mask, turning a
base into PNG) runs through one ``DecodeLimiter``: off the event loop, two at a time, with a bound
on the pixels in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from imagegen_mcp.api.fetch import addresses_of, fetch_public
from imagegen_mcp.errors import ImageNotFound, InputError
from imagegen_mcp.imaging import (
    ImageInfo,
    NotAnImage,
    TooManyPixels,
    dimensions,
    probe,
    single_picture,
)
from imagegen_mcp.netaddr import is_public
from imagegen_mcp.service.decoding import DecodeLimiter, data_uri_bytes, megabytes
from imagegen_mcp.service.masks import MaskRegion, mask_from_image, mask_from_regions, to_png
from imagegen_mcp.service.validation import model_spec
from imagegen_mcp.storage.confined import ConfinementError, read_confined

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import TaskEngine

_IMAGE_URI = re.compile(r"^image://(?P<task>[A-Za-z0-9_-]+)/(?P<index>\d+)$")
SHOWN_CHARS = 120  # how much of a caller's input an error message quotes


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut short: a huge input is not echoed back whole."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return f"{text[:SHOWN_CHARS]!r}... ({len(text)} characters)"


@dataclass(frozen=True)
class LoadedImage:
    """An input image held in memory after validation."""

    data: bytes
    info: ImageInfo
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class ImageInputs:
    def __init__(
        self,
        *,
        engine: TaskEngine,
        allowed_dirs: tuple[Path, ...],
        trusted_hosts: frozenset[str] = frozenset(),
        decoder: DecodeLimiter | None = None,
    ) -> None:
        self._engine = engine
        self._decoder = decoder if decoder is not None else DecodeLimiter()
        self._allowed = tuple(d.resolve() for d in allowed_dirs)
        self._trusted = trusted_hosts  # the configured upstream hosts may be fetched directly

    @property
    def folders(self) -> tuple[Path, ...]:
        """The folders local images may be read from (resolved)."""
        return self._allowed

    @property
    def decoder(self) -> DecodeLimiter:
        return self._decoder

    def with_folders(self, extra: tuple[Path, ...]) -> ImageInputs:
        """These inputs, also reading from ``extra`` (resolved folders: a client's roots), sharing
        the decoder."""
        if not extra:
            return self
        wider = ImageInputs(
            engine=self._engine, allowed_dirs=(), trusted_hosts=self._trusted, decoder=self._decoder
        )
        wider._allowed = tuple(dict.fromkeys((*self._allowed, *extra)))
        return wider

    async def as_url(self, spec: str, *, model: str, what: str = "reference image") -> str:
        """A URL the upstream can download for ``spec`` (an input for ``model``), uploading
        local data when needed."""
        spec = spec.strip()
        if spec.lower().startswith(("http://", "https://")):
            _check_url(spec, what)
            await self._check_public(spec, what)
            return spec
        image = await self.load(spec, model=model, what=what)
        _check_sides(model, image, what)
        return await self.upload(image)

    async def _check_public(self, url: str, what: str) -> None:
        """Refuse, before paying, a URL the upstream would be sent to fetch from a private,
        loopback or metadata address (it could only fail, or probe a network). A host that does
        not resolve here is left to the upstream, whose DNS may differ."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.netloc.rsplit("@", 1)[-1] in self._trusted:
            return
        try:
            addresses = await addresses_of(host, parts.port or 443)
        except OSError:
            return
        private = [str(a) for a in addresses if not is_public(a)]
        if private:
            raise InputError(
                f"The {what} URL {_shown(url)} points at a non-public address ({private[0]}): "
                "the image service cannot fetch it. Pass a public URL, or the local file's path."
            )

    async def load(self, spec: str, *, model: str, what: str = "image") -> LoadedImage:
        """Read and validate a local path, data URI or ``image://`` URI into memory."""
        limit = model_spec(model).references.max_bytes
        spec = spec.strip()
        if not spec:
            raise InputError(f"The {what} is empty: pass a file path, data URI or URL.")
        if spec.lower().startswith("data:"):
            data = await anyio.to_thread.run_sync(data_uri_bytes, spec, what, limit)
            return await self._validate(data, "data URI", what, limit)
        match = _IMAGE_URI.match(spec)
        if match:
            if len(match["task"]) > 64 or len(match["index"]) > 6:
                raise InputError(
                    f"{_shown(spec)} does not exist: image:// URIs of results look like "
                    "'image://ig-3f9a0c1b2d4e/0'. Call list_tasks to see recent task ids."
                )
            data = await self._result_bytes(match["task"], int(match["index"]), spec)
            return await self._validate(data, spec, what, limit)
        if "://" in spec:
            raise InputError(
                f"The {what} {_shown(spec)} has an unsupported scheme: use a local path, an "
                "http(s) URL, a data: URI or an image:// URI from an earlier result."
            )
        if "\x00" in spec:
            raise InputError(
                f"The {what} path {_shown(spec)} contains a NUL character: pass a plain path."
            )
        try:
            path = Path(spec).expanduser()  # noqa: ASYNC240  # no I/O: reads HOME or passwd
        except RuntimeError as exc:  # '~someone' for a user this machine does not know
            raise InputError(
                f"The {what} path {_shown(spec)} starts with an unknown '~user': pass an "
                "absolute path."
            ) from exc
        if not path.is_absolute():
            raise InputError(
                f"The {what} path {_shown(spec)} is relative: pass an absolute path (the "
                "server's working directory is not yours)."
            )
        return await self._read_file(path, spec, what, limit)

    async def edit_inputs(
        self,
        image: str,
        *,
        model: str,
        mask: str | None = None,
        regions: list[MaskRegion] | None = None,
        invert: bool = False,
    ) -> tuple[str, str | None]:
        """URLs of the base image and canonical mask for an edit.

        Everything is read, measured and converted before anything is uploaded, so a refusal
        leaves nothing behind upstream.
        """
        if mask is None and not regions:
            return await self.as_url(image, model=model, what="image to edit"), None
        if mask is not None and regions:
            raise InputError("Pass either mask or mask_region, not both.")
        base = await self._load_any(image, model=model, what="image to edit")
        _check_sides(model, base, "image to edit")
        pixels = base.info.width * base.info.height
        if base.info.format != "PNG" or base.info.orientation != 1:
            # Sent as shown: the mask (drawn on the image as shown, or regions in fractions of
            # it) must line up with what the upstream edits.
            png, shown = await self._decoder.run(pixels, lambda: to_png(base.data))
            base = LoadedImage(data=png, info=ImageInfo("PNG", *shown), source=base.source)
        size = (base.info.width, base.info.height)
        if regions:
            chosen = regions
            mask_png = await self._decoder.run(pixels, lambda: mask_from_regions(size, chosen))
        else:
            assert mask is not None
            given = await self._load_any(mask, model=model, what="mask")
            mask_pixels = given.info.width * given.info.height + pixels
            mask_png = await self._decoder.run(
                mask_pixels, lambda: mask_from_image(given.data, size, invert=invert)
            )
        canonical = LoadedImage(data=mask_png, info=ImageInfo("PNG", *size), source="mask")
        return await self.upload(base), await self.upload(canonical)

    async def _load_any(self, spec: str, *, model: str, what: str) -> LoadedImage:
        spec = spec.strip()
        if spec.lower().startswith(("http://", "https://")):
            _check_url(spec, what)
            data = await fetch_public(spec, trusted_hosts=self._trusted)
            limit = model_spec(model).references.max_bytes
            return await self._validate(data, spec, what, limit)
        return await self.load(spec, model=model, what=what)

    async def upload(self, image: LoadedImage) -> str:
        return await self._engine.upload_image(
            image.data,
            image.info.mime_type,
            sha256=image.sha256,
            name=f"{image.sha256[:16]}.{image.info.extension}",
        )

    async def _result_bytes(self, task_id: str, index: int, spec: str) -> bytes:
        try:
            _image, data = await self._engine.saved_image(task_id, index)
        except (InputError, ImageNotFound) as exc:
            raise InputError(f"{spec} cannot be used: {exc}") from None
        return data

    async def _read_file(self, path: Path, spec: str, what: str, limit: int) -> LoadedImage:
        shown = _shown(spec)
        allowed = ", ".join(str(d) for d in self._allowed)
        outside = InputError(
            f"The {what} {shown} is outside the directories images may be read from "
            f"({allowed}). Move it there or add its folder to IMAGEGEN_ALLOWED_DIRS."
        )

        def _read() -> bytes:
            try:
                return read_confined(path, self._allowed, limit)
            except ConfinementError as exc:
                if exc.kind == "loop":
                    raise InputError(
                        f"The {what} {shown} is a symbolic link loop: pass the real file's path."
                    ) from exc
                if exc.kind == "outside":
                    raise outside from exc
                if exc.kind == "too_large":
                    raise InputError(
                        f"The {what} {shown} is {exc.reason}; the limit is {megabytes(limit)}. "
                        "Downscale or re-encode it first."
                    ) from exc
                raise InputError(f"The {what} {shown} is {exc.reason}: pass a plain file.") from exc
            except OSError as exc:
                # Say nothing of what lies outside the allowed folders, not even whether it
                # exists.
                if not any(_resolved(path).is_relative_to(d) for d in self._allowed):
                    raise outside from exc
                if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
                    raise InputError(
                        f"The {what} {shown} does not exist or is not a file."
                    ) from exc
                raise InputError(f"Cannot read the {what} {shown}: {exc.strerror or exc}.") from exc

        data = await anyio.to_thread.run_sync(_read)
        return await self._validate(data, spec, what, limit)

    async def _validate(self, data: bytes, source: str, what: str, limit: int) -> LoadedImage:
        """``data`` as a checked image: its size and header first, then a full decode through
        the limiter (the header's pixel count is what the decode will hold)."""
        if len(data) > limit:
            raise InputError(f"The {what} is larger than {megabytes(limit)}.")
        label = "(a data URI)" if source == "data URI" else _shown(source)
        with _refusal(what, label):
            data, pixels = await anyio.to_thread.run_sync(_measured, data)
            info = await self._decoder.run(pixels, lambda: probe(data))
        return LoadedImage(data=data, info=info, source=source)


def _check_sides(model: str, image: LoadedImage, what: str) -> None:
    """Refuse an input whose sides the model cannot take (e.g. Qwen: 384-3072 px)."""
    rule = model_spec(model).references
    width, height = image.info.width, image.info.height
    if min(width, height) < rule.min_side or max(width, height) > rule.max_side:
        raise InputError(
            f"{model} takes input images with sides of {rule.min_side}-{rule.max_side} px; the "
            f"{what} is {width}x{height}: resize it, or pick another model (list_models)."
        )


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop: judged by its name
        return Path(os.path.abspath(path))


def _measured(data: bytes) -> tuple[bytes, int]:
    """The bytes to send (of a multi-picture JPEG, its first picture) and the pixels their
    decode will hold, from the header alone."""
    data = single_picture(data)
    width, height = dimensions(data)
    return data, width * height


@contextmanager
def _refusal(what: str, label: str) -> Iterator[None]:
    """What is wrong with an input that is not a usable image, as an ``InputError``."""
    try:
        yield
    except TooManyPixels as exc:
        raise InputError(
            f"The {what} {label} has too many pixels to open safely: downscale it (a few "
            "megapixels are plenty) and pass it again."
        ) from exc
    except NotAnImage as exc:
        raise InputError(
            f"The {what} {label} is not a usable image: {exc}. Pass a PNG, JPEG or WebP file."
        ) from exc


def _check_url(url: str, what: str) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number in 0-65535 raises here
    except ValueError as exc:
        raise InputError(
            f"The {what} URL {_shown(url)} is malformed ({exc}): pass a plain http(s) URL."
        ) from exc
    if not parts.hostname:
        raise InputError(f"The {what} URL {_shown(url)} has no host.")
    if len(url) > 2048:
        raise InputError(f"The {what} URL is longer than 2048 characters.")
