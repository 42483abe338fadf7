"""One request to EvoLink: the two HTTP clients, the rate limit, and failures mapped to our errors.

The API client carries the key; the downloads client never does (results live on a CDN). Both
open on first use: building one loads the CA store and the HTTP stack (about 50 ms for both),
which would otherwise delay the server's start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx2

from imagegen_mcp.api.errors import ambiguous_create, error_for_response
from imagegen_mcp.api.ratelimit import Priority, RateLimiter
from imagegen_mcp.api.retries import NotSent, RetryPolicy, retry_context, transient
from imagegen_mcp.errors import RateLimited, UpstreamUnavailable

if TYPE_CHECKING:
    from stamina import Attempt

USER_AGENT = "imagegen-mcp"


class Session:
    """The HTTP clients and the rate limiter one ``EvoLinkClient`` sends through."""

    def __init__(
        self,
        *,
        api_key: str,
        limiter: RateLimiter,
        retry: RetryPolicy,
        transport: httpx2.AsyncBaseTransport | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.limiter = limiter
        self.retry = retry
        self._api_key = api_key
        self._transport = transport
        self._timeout = httpx2.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
        self._api_client: httpx2.AsyncClient | None = None
        self._downloads_client: httpx2.AsyncClient | None = None
        self._closed = False

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in text we keep or show (see ``imagegen_mcp.redact``)."""
        return (self._api_key,)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("The EvoLink client has been closed.")

    def _new_client(self, headers: dict[str, str], **kw: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers={**headers, "User-Agent": USER_AGENT},
            timeout=self._timeout,
            transport=self._transport,
            **kw,
        )

    @property
    def api(self) -> httpx2.AsyncClient:
        """The client for EvoLink's task and files APIs (sends the key, never follows redirects)."""
        self._check_open()
        if self._api_client is None:
            self._api_client = self._new_client(
                {"Authorization": f"Bearer {self._api_key}"},
                follow_redirects=False,
                limits=httpx2.Limits(max_connections=32, max_keepalive_connections=16),
            )
        return self._api_client

    @property
    def downloads(self) -> httpx2.AsyncClient:
        """The client for result downloads: no key, redirects followed."""
        self._check_open()
        if self._downloads_client is None:
            self._downloads_client = self._new_client(
                {},
                follow_redirects=True,
                limits=httpx2.Limits(max_connections=16, max_keepalive_connections=8),
            )
        return self._downloads_client

    async def aclose(self) -> None:
        self._closed = True
        api, downloads = self._api_client, self._downloads_client
        if api is not None:
            await api.aclose()
        if downloads is not None:
            await downloads.aclose()

    def attempts(self, on: Callable[[Exception], bool | float]) -> AsyncIterable[Attempt]:
        """The attempts of one request under this session's retry policy."""
        return retry_context(self.retry, on)

    async def send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        create: bool = False,
        before_send: Callable[[], Awaitable[None]] | None = None,
        priority: Priority = Priority.URGENT,
        **kw: Any,
    ) -> httpx2.Response:
        """One attempt: rate-limited, with transport errors and error answers mapped to ours.

        ``create`` marks a request that must not be resent once it may have arrived: a failure
        after sending raises ``AmbiguousCreate`` instead of a retryable error. ``priority``
        orders it among requests waiting for the rate cap.
        """
        await self.limiter.acquire(priority)
        api = self.api  # raises if the client is closed: before anything is marked sent
        if before_send is not None:
            await before_send()
        try:
            response = await api.request(method, url, **kw)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise NotSent(
                f"{what}: could not reach EvoLink ({type(exc).__name__}); nothing was sent."
            ) from exc
        except httpx2.TransportError as exc:
            if create:
                raise ambiguous_create(what, type(exc).__name__) from exc
            raise UpstreamUnavailable(f"{what}: connection failed ({type(exc).__name__}).") from exc
        if response.status_code == 429:
            error = error_for_response(response, what, self.secrets)
            given = error.retry_after if isinstance(error, RateLimited) else None
            # Retry-After: 0 means "now", not "not said": only a missing one costs a second.
            self.limiter.penalize(1.0 if given is None else given)
            raise error
        if create and response.status_code >= 500:
            raise ambiguous_create(what, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise error_for_response(response, what, self.secrets)
        return response

    async def json(self, method: str, url: str, what: str, **kw: Any) -> Any:
        """A request that is safe to resend, retried on transient failures; its JSON answer."""
        async for attempt in self.attempts(transient):
            with attempt:
                response = await self.send(method, url, what, **kw)
                try:
                    return response.json()
                except ValueError as exc:
                    raise UpstreamUnavailable(
                        f"{what}: EvoLink sent a response that is not JSON."
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover  # stamina re-raises the last error
