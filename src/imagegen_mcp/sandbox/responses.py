"""Error envelopes in both documented generations, and responses that misbehave on purpose.

A dropped or truncated connection cannot be expressed as an ASGI message, so those responses
start the answer and then raise ``ConnectionDropped``: uvicorn closes the socket when an app
fails after the response started, which is exactly what a client sees from a flaky upstream.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from imagegen_mcp.sandbox.config import ErrorStyle, FaultKind, Faults

#: HTTP status -> (newer string code, error type) of the upstream's error envelope.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "invalid_request_error"),
    401: ("unauthorized", "authentication_error"),
    402: ("insufficient_quota", "insufficient_quota_error"),
    403: ("permission_denied", "permission_error"),
    404: ("not_found", "not_found_error"),
    413: ("request_too_large", "request_too_large_error"),
    429: ("rate_limit_exceeded", "rate_limit_error"),
    500: ("internal_error", "internal_server_error"),
    502: ("upstream_error", "upstream_error"),
    503: ("service_unavailable", "service_unavailable_error"),
}

_FAULT_MESSAGES: dict[int, str] = {
    429: "Too many requests (sandbox fault). Retry after the Retry-After delay.",
    500: "Internal server error (sandbox fault).",
    502: "Bad gateway: the upstream model did not answer (sandbox fault).",
    503: "Service temporarily unavailable (sandbox fault).",
}


class ConnectionDropped(Exception):
    """Raised after a response started, so the server aborts the connection."""


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_drop_filter = _HideDroppedConnections()


def quiet_dropped_connections() -> None:
    """Keep deliberate drops out of uvicorn's error log (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _drop_filter not in logger.filters:
        logger.addFilter(_drop_filter)


def _status_error(status: int) -> tuple[str, str]:
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    return _STATUS_ERRORS[400] if status < 500 else _STATUS_ERRORS[500]


def api_error(
    style: ErrorStyle,
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The task API's error envelope: string codes ("new") or the HTTP status as code ("old")."""
    default_code, error_type = _status_error(status)
    error: dict[str, Any] = {
        "code": (code or default_code) if style == "new" else status,
        "message": message,
        "type": error_type,
    }
    if param is not None:
        error["param"] = param
    if style == "old" and (status == 429 or status >= 500):
        error["fallback_suggestion"] = "retry after a short delay"
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def files_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The files API's envelope, which reports failures in the same shape as successes."""
    return JSONResponse(
        {"success": False, "code": status, "msg": message}, status_code=status, headers=headers
    )


def fault_status_response(
    status: int, style: ErrorStyle, *, files_api: bool, retry_after: int | None
) -> JSONResponse:
    message = _FAULT_MESSAGES.get(status, f"HTTP {status} (sandbox fault).")
    headers = (
        {"Retry-After": str(retry_after)} if status == 429 and retry_after is not None else None
    )
    if files_api:
        return files_error(status, message, headers)
    return api_error(style, status, message, headers=headers)


class DroppedResponse(Response):
    """Announces ``declared_length`` bytes, sends ``sent`` of them, then drops the connection."""

    def __init__(
        self, *, sent: bytes = b"", declared_length: int = 256, media_type: str = "application/json"
    ) -> None:
        super().__init__(
            status_code=200,
            headers={"content-length": str(declared_length)},
            media_type=media_type,
        )
        self._sent = sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self._sent:
            await send({"type": "http.response.body", "body": self._sent, "more_body": True})
        raise ConnectionDropped("sandbox fault: connection dropped")


def truncated_response(data: bytes, media_type: str) -> DroppedResponse:
    return DroppedResponse(
        sent=data[: len(data) // 2], declared_length=len(data), media_type=media_type
    )


def slow_response(data: bytes, media_type: str, chunk_size: int, delay: float) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), chunk_size):
            if start:
                await anyio.sleep(delay)
            yield data[start : start + chunk_size]

    return StreamingResponse(
        chunks(), media_type=media_type, headers={"content-length": str(len(data))}
    )


def plain_fault_response(
    kind: FaultKind | None, style: ErrorStyle, faults: Faults, *, files_api: bool = False
) -> Response | None:
    """The answer for faults that replace the whole response (a status or a drop), else None."""
    if isinstance(kind, int):
        return fault_status_response(
            kind, style, files_api=files_api, retry_after=faults.retry_after
        )
    if kind == "drop":
        return DroppedResponse()
    return None


def body_response(data: bytes, media_type: str, kind: FaultKind | None, faults: Faults) -> Response:
    """Serve a download, honouring the download-only faults (truncate, slow, corrupt)."""
    if kind == "corrupt":  # complete, of the right length, and not an image
        return Response(bytes(len(data)), media_type=media_type)
    if kind == "truncate":
        return truncated_response(data, media_type)
    if kind == "slow":
        return slow_response(data, media_type, faults.slow_chunk_size, faults.slow_chunk_delay)
    return Response(data, media_type=media_type)
