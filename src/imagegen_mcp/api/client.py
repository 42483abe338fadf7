"""The EvoLink client: the one object the service layer talks to the upstream through.

It ties together one ``Session`` (HTTP clients, rate limit, error mapping) and the upstream's
resources: tasks (``api.tasks``), uploads (``api.files``) and result downloads
(``api.downloads``). Retry rules live in ``api.retries``: reads, uploads and downloads are
retried on transient failures; a create only when it certainly created nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from imagegen_mcp.api import downloads, files, tasks
from imagegen_mcp.api.downloads import MAX_DOWNLOAD_BYTES, DownloadSink
from imagegen_mcp.api.ratelimit import Priority, RateLimiter
from imagegen_mcp.api.retries import RetryPolicy
from imagegen_mcp.api.schemas import UploadedFile, UpstreamTask
from imagegen_mcp.api.session import Session

__all__ = ["DownloadSink", "EvoLinkClient", "Priority", "RetryPolicy"]


class EvoLinkClient:
    """Async client for EvoLink's image task API and files API. Use as an async context manager."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        files_base: str,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._files_base = files_base.rstrip("/")
        self._session = Session(
            api_key=api_key,
            limiter=limiter or RateLimiter(5.0),
            retry=retry or RetryPolicy(),
            transport=transport,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )

    async def __aenter__(self) -> EvoLinkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._session.aclose()

    @property
    def limiter(self) -> RateLimiter:
        return self._session.limiter

    async def create_task(
        self, body: dict[str, Any], *, before_send: Callable[[], Awaitable[None]] | None = None
    ) -> UpstreamTask:
        """Submit a generation task. Raises ``AmbiguousCreate`` when the outcome is unknown,
        ``CreateNotSent`` when it certainly created nothing.

        ``before_send`` is awaited before each attempt goes on the wire (after the rate limit),
        so the caller can record that the create may have been sent.
        """
        return await tasks.create_task(self._session, self._api_base, body, before_send=before_send)

    async def get_task(
        self, upstream_id: str, *, priority: Priority = Priority.URGENT
    ) -> UpstreamTask:
        """Read a task back; ``priority`` orders the GET among requests waiting for the cap."""
        return await tasks.get_task(self._session, self._api_base, upstream_id, priority=priority)

    async def upload_base64(
        self, content: bytes, mime_type: str, *, file_name: str | None = None
    ) -> UploadedFile:
        """Host ``content`` on EvoLink's files API; its ``file_url`` can go in a create."""
        return await files.upload_base64(
            self._session, self._files_base, content, mime_type, file_name=file_name
        )

    async def download(
        self, url: str, sink: DownloadSink, *, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> str | None:
        """Stream a result ``url`` into ``sink``; returns the content type. ``UpstreamNotFound``
        means the link has expired; ``DownloadTooLarge`` that it is over ``max_bytes``."""
        return await downloads.download(self._session, url, sink, max_bytes=max_bytes)
