"""Downloading result images: streamed into a sink, capped in size, retried from the start.

A truncated body (fewer bytes than Content-Length) surfaces as a dropped connection and is
retried; ``UpstreamNotFound`` means the link is gone (results expire after 24 hours).
"""

from __future__ import annotations

from typing import Protocol

import httpx2

from imagegen_mcp.api.errors import error_for_response
from imagegen_mcp.api.retries import transient
from imagegen_mcp.api.session import Session
from imagegen_mcp.errors import DownloadTooLarge, UpstreamUnavailable

MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


class DownloadSink(Protocol):
    """Where a download's bytes go; ``reset`` starts over before a retried attempt."""

    def reset(self) -> None: ...

    def write(self, chunk: bytes) -> None: ...


async def download(
    session: Session, url: str, sink: DownloadSink, *, max_bytes: int = MAX_DOWNLOAD_BYTES
) -> str | None:
    """Stream ``url`` into ``sink``, retrying transient failures; returns the content type."""
    what = "Downloading an image"
    async for attempt in session.attempts(transient):
        with attempt:
            sink.reset()
            try:
                async with session.downloads.stream("GET", url) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise error_for_response(response, what, session.secrets)
                    total = 0
                    async for chunk in response.aiter_bytes(CHUNK_BYTES):
                        total += len(chunk)
                        if total > max_bytes:
                            raise DownloadTooLarge(f"{what}: larger than {max_bytes} bytes.")
                        sink.write(chunk)
                    expected = response.headers.get("content-length")
                    if expected is not None and expected.isdigit() and int(expected) != total:
                        raise UpstreamUnavailable(f"{what}: got {total} of {expected} bytes.")
                    return response.headers.get("content-type")
            except httpx2.TransportError as exc:
                raise UpstreamUnavailable(
                    f"{what}: connection failed ({type(exc).__name__})."
                ) from exc
    raise AssertionError("unreachable")  # pragma: no cover  # stamina re-raises the last error
