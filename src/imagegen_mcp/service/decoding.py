"""Where caller-supplied images are decoded: data URIs into bytes, and images into pixels in
worker threads, a few at a time, with a bound on the pixels held in memory at once.

A decode holds the GIL for most of its length and a 49-megapixel one takes about 200 MB, so
decodes run off the event loop (other sessions keep being served), at most ``slots`` at once,
and together never more than ``budget`` pixels (an image larger than the whole budget waits
until no other decode is running). The caller reads the pixel count from the header first
(``imaging.dimensions``), which costs no decode.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from imagegen_mcp.errors import InputError
from imagegen_mcp.models import MAX_REFERENCE_BYTES

T = TypeVar("T")

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.I)
_BASE64_SPACE = re.compile(r"[ \t\r\n\f\v]+")  # line-wrapped base64 (MIME, PEM) is common


def _base64_chars(size: int) -> int:
    return -(-size // 3) * 4


#: The longest image argument worth reading: a data URI of the largest reference any model
#: accepts (``MAX_REFERENCE_BYTES``; a test holds every catalog model to it), its base64 wrapped
#: in lines of 64 characters or more (CRLF), plus a generous header.
MAX_IMAGE_ARG_CHARS = _base64_chars(MAX_REFERENCE_BYTES) * 66 // 64 + 1024


def megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def data_uri_bytes(spec: str, what: str, limit: int) -> bytes:
    """The bytes of a base64 data URI (line breaks and spaces in the base64 are dropped). Up to
    14 million characters: called in a worker thread."""
    match = _DATA_URI.match(spec)
    if match is None:
        raise InputError(
            f"The {what} data URI is malformed: expected 'data:image/png;base64,<data>'."
        )
    payload = _BASE64_SPACE.sub("", spec[match.end() :])
    if len(payload) > _base64_chars(limit):
        raise InputError(f"The {what} data URI is larger than {megabytes(limit)}.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"The {what} data URI has invalid base64 data ({exc}).") from exc


DECODE_SLOTS = 2
#: Two images at the largest size accepted (``imaging.MAX_PIXELS``) fit side by side: about
#: 400 MB of decoded RGB(A) pixels at worst.
PIXEL_BUDGET = 100_000_000


class DecodeLimiter:
    """Runs decodes in worker threads, at most ``slots`` at once and ``budget`` pixels in flight.

    Made inside the event loop that uses it (anyio's primitives belong to one loop).
    """

    def __init__(self, *, slots: int = DECODE_SLOTS, budget: int = PIXEL_BUDGET) -> None:
        self.budget = budget
        self._threads = anyio.CapacityLimiter(slots)
        self._changed = anyio.Condition()
        self._in_flight = 0

    @property
    def pixels_in_flight(self) -> int:
        return self._in_flight

    async def run(self, pixels: int, func: Callable[[], T]) -> T:
        """``func()`` in a worker thread once ``pixels`` fit in the budget and a slot is free."""
        cost = min(max(pixels, 1), self.budget)
        async with self._changed:
            while self._in_flight + cost > self.budget:
                await self._changed.wait()
            self._in_flight += cost
        try:
            # Not abandoned on cancellation: the pixels stay in memory until the thread ends.
            return await anyio.to_thread.run_sync(func, limiter=self._threads)
        finally:
            with anyio.CancelScope(shield=True):
                async with self._changed:
                    self._in_flight -= cost
                    self._changed.notify_all()
