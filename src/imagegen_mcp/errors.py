"""The exception tree. Every message says what to do next.

    ImagegenError
    ├── ConfigError            bad or missing settings (a missing API key names the variable)
    ├── InputError             a caller's argument we refuse before anything is paid
    ├── TaskNotFound           no such task id in the store
    ├── ImageNotFound          no saved image at that index of a task
    ├── BudgetExceeded         the daily credit budget would be passed
    ├── StorageError         R saving to disk failed (disk full, unwritable directory)
    └── UpstreamError          the EvoLink API answered with an error or could not be reached
        ├── AuthError              401/403
        ├── InsufficientCredits    402
        ├── RateLimited          R 429 (carries Retry-After when given)
        ├── UpstreamUnavailable  R 5xx, timeouts, dropped connections, unreadable answers
        ├── UpstreamRejected       other 4xx: the request itself is wrong
        ├── UpstreamNotFound       404/410 on a task or file
        ├── AmbiguousCreate        a create that may or may not have been charged
        ├── CreateNotSent        R a create that certainly created nothing (safe to send again)
        └── DownloadError        R a result download was corrupt or did not decode
            └── DownloadTooLarge     a result is over the download size cap

R: ``retryable`` is true: the same request may succeed later. It is a property of the class,
never of one raise site: a case that differs gets its own class (``DownloadTooLarge``).

Task failures reported by the upstream (content policy, generation timeout ...) are not
exceptions: they are a task's ``error`` field, like a model failure kept apart from API failures.
"""

from __future__ import annotations

from typing import ClassVar

#: The task error code of a create that was never sent (or certainly created nothing).
CREATE_NOT_SENT = "create_not_sent"


class ImagegenError(Exception):
    """Base of every error this package raises on purpose."""

    #: Whether sending the same request again later may succeed.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ImagegenError):
    """Settings are missing or invalid."""


class InputError(ImagegenError):
    """A caller's argument was refused before anything was sent or paid."""


class TaskNotFound(ImagegenError):
    """No task with that id exists in the local store."""


class ImageNotFound(ImagegenError):
    """The task has no saved image at that index (yet, or at all)."""


class BudgetExceeded(ImagegenError):
    """A new task would pass the configured daily credit budget."""


class StorageError(ImagegenError):
    """Writing images or state to disk failed; the task stays retrievable later."""

    retryable = True


class UpstreamError(ImagegenError):
    """The EvoLink API answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthError(UpstreamError):
    """The API key was refused."""


class InsufficientCredits(UpstreamError):
    """The account has no credits left for this request."""


class RateLimited(UpstreamError):
    """The upstream asked us to slow down."""

    retryable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, status=429, code=code)
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    """5xx, a timeout, a dropped connection or an unreadable answer: worth retrying later."""

    retryable = True


class UpstreamRejected(UpstreamError):
    """The upstream refused the request as invalid: change it before retrying."""


class UpstreamNotFound(UpstreamError):
    """The task or file does not exist upstream (or no longer does)."""


class CreateNotSent(UpstreamError):
    """A create that certainly created nothing: it never reached EvoLink, or was refused with
    429 until the retries ran out. Sending it again cannot pay twice."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message, code=CREATE_NOT_SENT)


class AmbiguousCreate(UpstreamError):
    """A create POST whose outcome is unknown: it may exist and be charged upstream. Never
    retryable: sending it again could pay twice."""


class DownloadError(UpstreamError):
    """A result download was corrupt, or did not decode as an image: downloading it again may
    succeed."""

    retryable = True


class DownloadTooLarge(DownloadError):
    """A result is larger than the download size cap: it will not shrink on a second try."""

    retryable = False
