"""Which failures are retried."""

from __future__ import annotations

from imagegen_mcp.api.retries import NotSent, never_sent, transient
from imagegen_mcp.errors import (
    AmbiguousCreate,
    DownloadTooLarge,
    RateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)


def test_transient_failures_and_429_are_retried_with_the_retry_after_as_the_wait() -> None:
    assert transient(UpstreamUnavailable("x")) is True
    assert transient(NotSent("x")) is True
    assert transient(RateLimited("x", retry_after=3.0)) == 3.0
    assert transient(RateLimited("x")) is True
    for final in (UpstreamRejected("x"), DownloadTooLarge("x"), ValueError("x")):
        assert transient(final) is False


def test_a_create_is_retried_only_when_it_certainly_created_nothing() -> None:
    assert never_sent(NotSent("x")) is True
    assert never_sent(RateLimited("x", retry_after=2.0)) == 2.0
    assert never_sent(RateLimited("x")) is True
    for maybe_sent in (UpstreamUnavailable("x"), AmbiguousCreate("x"), UpstreamRejected("x")):
        assert never_sent(maybe_sent) is False
