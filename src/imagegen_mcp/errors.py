"""The exception tree. Every message says what to do next.

    ImagegenError
    ├── ConfigError            bad or missing settings (a missing API key names the variable)
    ├── InputError             a caller's argument we refuse before anything is paid
    ├── TaskNotFound           no such task id in the store
    ├── BudgetExceeded         the daily credit budget would be passed
    ├── StorageError           saving to disk failed (disk full, unwritable directory)
    └── UpstreamError          the EvoLink API answered with an error or could not be reached
        ├── AuthError              401/403
        ├── InsufficientCredits    402
        ├── RateLimited            429 (carries Retry-After when given)
        ├── UpstreamUnavailable    5xx, timeouts, dropped connections
        ├── UpstreamRejected       other 4xx: the request itself is wrong
        ├── UpstreamNotFound       404 on a task or file
        ├── AmbiguousCreate        a create that may or may not have been charged
        ├── CreateNotSent          a create that certainly created nothing (safe to send again)
        └── DownloadError          a result download failed or was corrupt

Task failures reported by the upstream (content policy, generation timeout ...) are not
exceptions: they are a task's ``error`` field, like a model failure kept apart from API failures.
"""

from __future__ import annotations

#: The task error code of a create that was never sent (or certainly created nothing).
CREATE_NOT_SENT = "create_not_sent"


class ImagegenError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class ConfigError(ImagegenError):
    """Settings are missing or invalid."""


class InputError(ImagegenError):
    """A caller's argument was refused before anything was sent or paid."""


class TaskNotFound(ImagegenError):
    """No task with that id exists in the local store."""


class BudgetExceeded(ImagegenError):
    """A new task would pass the configured daily credit budget."""


class StorageError(ImagegenError):
    """Writing images or state to disk failed; the task stays retrievable later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class UpstreamError(ImagegenError):
    """The EvoLink API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.code = code


class AuthError(UpstreamError):
    """The API key was refused."""


class InsufficientCredits(UpstreamError):
    """The account has no credits left for this request."""


class RateLimited(UpstreamError):
    """The upstream asked us to slow down."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, status=429, retryable=True, code=_str_or_none(kw.get("code")))
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    """5xx, a timeout or a dropped connection: worth retrying later."""


class UpstreamRejected(UpstreamError):
    """The upstream refused the request as invalid: change it before retrying."""


class UpstreamNotFound(UpstreamError):
    """The task or file does not exist upstream (or no longer does)."""


class CreateNotSent(UpstreamError):
    """A create that certainly created nothing: it never reached EvoLink, or was refused with
    429 until the retries ran out. Sending it again cannot pay twice."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=CREATE_NOT_SENT, retryable=True)


class AmbiguousCreate(UpstreamError):
    """A create POST whose outcome is unknown: it may exist and be charged upstream."""


class DownloadError(UpstreamError):
    """A result download failed, was truncated or did not decode as an image."""


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
