"""Mapping EvoLink's HTTP answers to our exception types: pure functions of a response.

EvoLink answers errors in two envelopes, ``{"error": {"code", "message", "type"}}`` (``code`` an
integer in older docs, a string in newer) and the files API's ``{"code", "msg"}``; behaviour is
keyed off the HTTP status and ``type``, and each message says what to do next.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx2

from imagegen_mcp.errors import (
    AmbiguousCreate,
    AuthError,
    InsufficientCredits,
    RateLimited,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from imagegen_mcp.redact import redact

#: The longest Retry-After we honour: a larger one is capped, not waited out.
MAX_RETRY_AFTER = 60.0


def retry_after(response: httpx2.Response) -> float | None:
    """Seconds the ``Retry-After`` header asks for (a number or an HTTP date), capped; ``None``
    when it is absent or unreadable."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(raw)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - time.time()))


def error_fields(
    response: httpx2.Response, secrets: tuple[str, ...] = ()
) -> tuple[str | None, str, str | None]:
    """(code, message, type) from either error envelope, or from a files-API failure, with
    ``secrets`` and anything like a key or bearer token redacted from the text."""
    code, message, etype = _error_fields(response)
    return code, redact(message, secrets), etype


def _error_fields(response: httpx2.Response) -> tuple[str | None, str, str | None]:
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip()[:200]
        return None, text or response.reason_phrase, None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            return (
                None if code is None else str(code),
                str(err.get("message") or response.reason_phrase),
                None if err.get("type") is None else str(err.get("type")),
            )
        if isinstance(err, str):
            return None, err, None
        if "msg" in body or "message" in body:
            code = body.get("code")
            msg = body.get("msg") or body.get("message")
            return None if code is None else str(code), str(msg), None
    return None, response.reason_phrase, None


def error_for_response(
    response: httpx2.Response, what: str, secrets: tuple[str, ...] = ()
) -> UpstreamError:
    """Map an HTTP error answer to our exception types (keyed off the status and ``type``);
    ``secrets`` never appear in the message."""
    status = response.status_code
    code, message, etype = error_fields(response, secrets)
    detail = f"{what}: EvoLink answered HTTP {status}" + (f" ({code})" if code else "")
    detail += f": {message}" if message else ""
    if status == 429 or etype == "rate_limit_error":
        return RateLimited(
            detail + ". Slow down; retry shortly.", retry_after=retry_after(response), code=code
        )
    if status == 403 and "file" in message.lower() and "quota" in f"{code} {message}".lower():
        return UpstreamRejected(
            detail + ". EvoLink's file-hosting quota is used up (uploads expire after 72 hours): "
            "delete old uploads in the EvoLink dashboard, or pass public image URLs instead of "
            "local files.",
            status=status,
            code=code,
        )
    if status in (401, 403):
        return AuthError(
            detail + ". Check EVOLINK_API_KEY and that the key may use this model.",
            status=status,
            code=code,
        )
    if status == 402:
        return InsufficientCredits(
            detail + ". The account is out of credits: top up at https://evolink.ai.",
            status=status,
            code=code,
        )
    if status in (404, 410):
        return UpstreamNotFound(detail, status=status, code=code)
    if status >= 500:
        return UpstreamUnavailable(
            detail + ". EvoLink is having trouble; retry later.", status=status, code=code
        )
    return UpstreamRejected(
        detail.rstrip(". ") + ". EvoLink refused this request: change it before trying again.",
        status=status,
        code=code,
    )


def ambiguous_create(what: str, why: str) -> AmbiguousCreate:
    """A create whose answer was lost after it may have reached EvoLink."""
    return AmbiguousCreate(
        f"{what}: EvoLink's answer was lost ({why}). The task may have been created and "
        "charged; check the EvoLink dashboard before retrying."
    )
