"""Who a protocol task handle belongs to, from the request that made or asks for it.

Guarantees: a handle's owner is the hash of the bearer token the request carried (never the
token itself), or ``local`` without one (stdio, a loopback bind: this machine's user). The
HTTP session is recorded hashed too, for the record only: sessions die with the process and a
handle must outlive it (``server.tasks_core``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from mcp.server.context import ServerRequestContext


def _header(ctx: ServerRequestContext[Any, Any], name: str) -> str | None:
    # The SDK hands the HTTP request over as ``ctx.request`` (None on stdio).
    headers = getattr(ctx.request, "headers", None)
    value = headers.get(name) if headers is not None else None
    return value if isinstance(value, str) and value else None


def _digest(kind: str, secret: str) -> str:
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:32]}"


def creator_of(ctx: ServerRequestContext[Any, Any]) -> str:
    """Who made a handle: the bearer token's hash (never the token), or ``local``."""
    scheme, _, token = (_header(ctx, "authorization") or "").partition(" ")
    return _digest("token", token.strip()) if scheme.lower() == "bearer" else "local"


def session_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    session = _header(ctx, "mcp-session-id")
    return None if session is None else _digest("session", session)
