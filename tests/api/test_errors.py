"""Our upstream errors: which are worth retrying."""

from __future__ import annotations

import pytest

from imagegen_mcp.errors import (
    AmbiguousCreate,
    AuthError,
    CreateNotSent,
    DownloadError,
    DownloadTooLarge,
    ImagegenError,
    InsufficientCredits,
    RateLimited,
    StorageError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (UpstreamUnavailable("x"), True),
        (RateLimited("x"), True),
        (CreateNotSent("x"), True),
        (StorageError("x"), True),
        (DownloadError("x"), True),
        (DownloadTooLarge("x"), False),
        (AmbiguousCreate("x"), False),
        (UpstreamRejected("x"), False),
        (AuthError("x"), False),
        (InsufficientCredits("x"), False),
        (UpstreamNotFound("x"), False),
        (ImagegenError("x"), False),
    ],
)
def test_retryable_is_a_property_of_the_class(error: ImagegenError, retryable: bool) -> None:
    assert error.retryable is retryable
    assert type(error).retryable is retryable


def test_a_create_not_sent_carries_its_task_error_code() -> None:
    assert CreateNotSent("x").code == "create_not_sent"
