"""The EvoLink HTTP client: the only module in the product that imports the HTTP library.

Retry rules (see the upstream reference): task GETs, uploads and downloads are retried on connect
errors, timeouts, dropped connections, 429 and 5xx, with capped jittered backoff that honours
Retry-After. The create POST makes paid work and has no idempotency key, so it is retried only
when the request provably never reached the server (connect error) or was refused (429); any
other failure after sending raises ``AmbiguousCreate`` and is never resent.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2

from imagegen_mcp.api.errors import ambiguous_create, error_for_response
from imagegen_mcp.api.ratelimit import RateLimiter
from imagegen_mcp.api.schemas import UploadedFile, UpstreamTask
from imagegen_mcp.errors import (
    CreateNotSent,
    DownloadTooLarge,
    RateLimited,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class DownloadSink(Protocol):
    """Where a download's bytes go; ``reset`` starts over before a retried attempt."""

    def reset(self) -> None: ...

    def write(self, chunk: bytes) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    timeout: float = 60.0
    wait_initial: float = 0.5
    wait_max: float = 8.0


class _NotSent(UpstreamUnavailable):
    """The request never reached the server: safe to resend even a create."""


def _transient(exc: Exception) -> bool | float:
    """stamina hook: retry transient failures; honour Retry-After on 429."""
    if isinstance(exc, RateLimited):
        return exc.retry_after if exc.retry_after is not None else True
    return isinstance(exc, UpstreamUnavailable)


def _create_retryable(exc: Exception) -> bool | float:
    if isinstance(exc, RateLimited):
        return exc.retry_after if exc.retry_after is not None else True
    return isinstance(exc, _NotSent)


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
        self._limiter = limiter or RateLimiter(5.0)
        self._retry = retry or RetryPolicy()
        self._api_key = api_key
        self._transport = transport
        self._timeout = httpx2.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
        # The HTTP clients open on first use: building one loads the CA store and the HTTP
        # stack (about 50 ms for both), which would otherwise delay the server's start-up.
        self._http_client: httpx2.AsyncClient | None = None
        self._downloads_client: httpx2.AsyncClient | None = None
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("The EvoLink client has been closed.")

    @property
    def _http(self) -> httpx2.AsyncClient:
        if self._http_client is None:
            self._check_open()
            self._http_client = httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {self._api_key}", "User-Agent": "imagegen-mcp"},
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=False,
                limits=httpx2.Limits(max_connections=32, max_keepalive_connections=16),
            )
        return self._http_client

    @property
    def _downloads(self) -> httpx2.AsyncClient:
        if self._downloads_client is None:
            self._check_open()
            # Downloads go to a CDN: never send the API key there.
            self._downloads_client = httpx2.AsyncClient(
                headers={"User-Agent": "imagegen-mcp"},
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=True,
                limits=httpx2.Limits(max_connections=16, max_keepalive_connections=8),
            )
        return self._downloads_client

    async def __aenter__(self) -> EvoLinkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        http, downloads = self._http_client, self._downloads_client
        if http is not None:
            await http.aclose()
        if downloads is not None:
            await downloads.aclose()

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    # --- requests -------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        create: bool = False,
        before_send: Callable[[], Awaitable[None]] | None = None,
        **kw: Any,
    ) -> httpx2.Response:
        """One attempt: rate-limited, with transport errors mapped to our types."""
        await self._limiter.acquire()
        http = self._http  # raises if the client is closed: before anything is marked sent
        if before_send is not None:
            await before_send()
        try:
            response = await http.request(method, url, **kw)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise _NotSent(
                f"{what}: could not reach EvoLink ({type(exc).__name__}); nothing was sent.",
            ) from exc
        except httpx2.TransportError as exc:
            if create:
                raise ambiguous_create(what, type(exc).__name__) from exc
            raise UpstreamUnavailable(f"{what}: connection failed ({type(exc).__name__}).") from exc
        if response.status_code == 429:
            error = error_for_response(response, what)
            self._limiter.penalize(
                error.retry_after if isinstance(error, RateLimited) and error.retry_after else 1.0
            )
            raise error
        if create and response.status_code >= 500:
            raise ambiguous_create(what, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise error_for_response(response, what)
        return response

    async def _json(self, method: str, url: str, what: str, **kw: Any) -> Any:
        async for attempt in self._attempts(_transient):
            with attempt:
                response = await self._send(method, url, what, **kw)
                try:
                    return response.json()
                except ValueError as exc:
                    raise UpstreamUnavailable(
                        f"{what}: EvoLink sent a response that is not JSON."
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover  # stamina re-raises the last error

    def _attempts(self, hook: Callable[[Exception], bool | float]) -> Any:
        import stamina  # with tenacity, ~20 modules: kept off the server's start-up path

        _log_retries_once()
        p = self._retry
        return stamina.retry_context(
            on=hook,
            attempts=p.attempts,
            timeout=p.timeout,
            wait_initial=p.wait_initial,
            wait_max=p.wait_max,
        )

    # --- task API ---------------------------------------------------------------------------

    async def create_task(
        self, body: dict[str, Any], *, before_send: Callable[[], Awaitable[None]] | None = None
    ) -> UpstreamTask:
        """Submit a generation task. Raises ``AmbiguousCreate`` when the outcome is unknown.

        ``before_send`` is awaited before each attempt goes on the wire (after the rate limit),
        so the caller can record that the create may have been sent.
        """
        what = "Creating the task"
        url = f"{self._api_base}/v1/images/generations"
        try:
            async for attempt in self._attempts(_create_retryable):
                with attempt:
                    response = await self._send(
                        "POST", url, what, create=True, before_send=before_send, json=body
                    )
        except (_NotSent, RateLimited) as exc:
            said = str(exc) if isinstance(exc, _NotSent) else f"{exc} Nothing was created."
            raise CreateNotSent(said) from exc
        try:
            return UpstreamTask.model_validate(response.json())
        except ValueError as exc:
            raise ambiguous_create(what, "an unreadable answer") from exc

    async def get_task(self, upstream_id: str) -> UpstreamTask:
        data = await self._json(
            "GET", f"{self._api_base}/v1/tasks/{upstream_id}", f"Checking task {upstream_id}"
        )
        try:
            return UpstreamTask.model_validate(data)
        except ValueError as exc:
            raise UpstreamUnavailable(
                f"Checking task {upstream_id}: unexpected answer from EvoLink."
            ) from exc

    # --- files API --------------------------------------------------------------------------

    async def upload_base64(
        self, content: bytes, mime_type: str, *, file_name: str | None = None
    ) -> UploadedFile:
        payload: dict[str, Any] = {
            "base64_data": f"data:{mime_type};base64,{base64.b64encode(content).decode()}"
        }
        if file_name:
            payload["file_name"] = file_name
        return await self._upload("/upload/base64", json=payload)

    async def _upload(self, path: str, **kw: Any) -> UploadedFile:
        data = await self._json("POST", f"{self._files_base}/api/v1/files{path}", "Uploading", **kw)
        inner = data.get("data") if isinstance(data, dict) else None
        if not isinstance(inner, dict) or not inner.get("file_url"):
            raise UpstreamUnavailable("Uploading: EvoLink's answer had no file_url.")
        return UploadedFile.model_validate(inner)

    # --- downloads --------------------------------------------------------------------------

    async def download(
        self, url: str, sink: DownloadSink, *, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> str | None:
        """Stream ``url`` into ``sink``, retrying transient failures; returns the content type.

        A truncated body (fewer bytes than Content-Length) surfaces as a dropped connection and
        is retried from the start. ``UpstreamNotFound`` means the link is gone (expired).
        """
        what = "Downloading an image"
        async for attempt in self._attempts(_transient):
            with attempt:
                sink.reset()
                try:
                    async with self._downloads.stream("GET", url) as response:
                        if response.status_code >= 400:
                            await response.aread()
                            raise error_for_response(response, what)
                        total = 0
                        async for chunk in response.aiter_bytes(64 * 1024):
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
        raise AssertionError("unreachable")  # pragma: no cover


_retry_log_installed = False


def _log_retries_once() -> None:
    """Replace stamina's WARNING per retry (a bare "stamina.retry_scheduled" in the host's log)
    with an INFO line that says what is retried and why; the final failure is logged by the
    caller."""
    global _retry_log_installed  # a process-wide hook, installed once
    if _retry_log_installed:
        return
    from stamina.instrumentation import (
        LoggingOnRetryHook,
        RetryDetails,
        get_on_retry_hooks,
        set_on_retry_hooks,
    )

    def on_retry(details: RetryDetails) -> None:
        log.info("retry %d in %.1f s: %s", details.retry_num, details.wait_for, details.caused_by)

    # Keep hooks a host application installed (metrics, structlog); drop only stamina's default.
    default = getattr(LoggingOnRetryHook.hook_factory(), "__qualname__", None)
    kept = [h for h in get_on_retry_hooks() if getattr(h, "__qualname__", "") != default]
    set_on_retry_hooks([*kept, on_retry])
    _retry_log_installed = True
