"""How the playground's HTTP API says no: a status and ``{"error": "<one line>"}``.

Domain errors (``ImagegenError``) keep their own sentence, with the agent's phrases ("call
get_task") as a person's (``web.wording``); the status says which kind of problem it is.
Anything else is an internal error whose details stay in the server log.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse

from imagegen_mcp.errors import (
    AuthError,
    BudgetExceeded,
    ConfigError,
    ImagegenError,
    ImageNotFound,
    InputError,
    InsufficientCredits,
    RateLimited,
    StorageError,
    TaskNotFound,
    UpstreamError,
)
from imagegen_mcp.web.wording import for_person

log = logging.getLogger(__name__)


class WebError(Exception):
    """A refusal the API answers with ``status`` and ``message`` (one line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    # One line, whatever the message held: error texts quote callers' input.
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)


def status_of(exc: ImagegenError) -> int:
    """The HTTP status for a domain error."""
    if isinstance(exc, TaskNotFound | ImageNotFound):
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, BudgetExceeded | InsufficientCredits):
        return 402
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, AuthError):
        return 502  # the server's key was refused: not the person's credentials
    if isinstance(exc, UpstreamError):
        return 502
    if isinstance(exc, StorageError | ConfigError):
        return 500
    # The engine not open (yet), or another condition the person can only wait out.
    return 503


def response_for(exc: Exception) -> JSONResponse:
    """The answer for an error raised while handling a request."""
    if isinstance(exc, WebError):
        return error_response(exc.status, exc.message)
    if isinstance(exc, TaskNotFound):
        # The engine's own sentence points an agent at list_tasks; a person has the history.
        return error_response(404, "No such task here: reload the page to see the history.")
    if isinstance(exc, ImagegenError):
        return error_response(status_of(exc), for_person(str(exc)))
    log.error("web request failed", exc_info=exc)
    return error_response(
        500,
        f"Internal error ({type(exc).__name__}); the server log has details. Reload the page "
        "and check the history before trying again.",
    )
