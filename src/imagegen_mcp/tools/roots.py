"""The client's MCP roots as folders images may be read from and saved to.

A client that declares the roots capability is asked for its roots (``roots/list``) the first
time a call needs them, and the answer is kept for its session (its connection) until it sends
``notifications/roots/list_changed``. Only ``file://`` roots that are existing folders count;
everything else is ignored (the SDK refuses a whole answer holding a root of another scheme,
which the protocol forbids: that client gets the configured folders). A client without roots,
or one that cannot be asked (protocol 2026-07-28 has no server-to-client requests within a
call, and drops roots), gets just the configured folders.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import anyio.to_thread
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.shared.message import ServerMessageMetadata
from mcp.types import ListRootsRequest, ListRootsResult, NotificationParams, Root
from pydantic import ValidationError

if TYPE_CHECKING:
    from imagegen_mcp.service.inputs import ImageInputs

log = logging.getLogger(__name__)

ROOTS_CHANGED = "notifications/roots/list_changed"
ASK_SECONDS = 10.0  # a client that never answers roots/list must not hold the call
_CACHED = "imagegen_mcp.roots"
_CHANGES = "imagegen_mcp.roots_changes"


def _connection_state(session: Any) -> dict[str, Any] | None:
    """The per-connection scratch dict the SDK keeps for each session (``Connection.state``).

    The SDK hands handlers a per-request session proxy; the connection behind it (one per stdio
    process or HTTP session) is not public, hence the guarded reach."""
    state = getattr(getattr(session, "_connection", None), "state", None)
    return state if isinstance(state, dict) else None


async def client_folders(ctx: Context) -> tuple[Path, ...]:
    """The client's roots as resolved existing folders; () when it has none or cannot say, and
    when the client is not on this machine (roots name folders on the client's own disk: a
    remote HTTP client's ``file:///`` must not open the server's)."""
    if not getattr(ctx.request_context.lifespan_context, "trust_roots", False):
        return ()
    session = ctx.session
    capabilities = session.client_capabilities
    if capabilities is None or capabilities.roots is None or not session.can_send_request:
        return ()
    state = _connection_state(session)
    if state is not None and _CACHED in state:
        cached: tuple[Path, ...] = state[_CACHED]
        return cached
    changes = state.get(_CHANGES, 0) if state is not None else 0
    try:
        # On this call's own stream (over HTTP, the POST's response), not the standalone one.
        result = await session.send_request(
            ListRootsRequest(),
            ListRootsResult,
            request_read_timeout_seconds=ASK_SECONDS,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
    except (MCPError, ValidationError, TimeoutError) as exc:
        # Kept like an answer: a client that does not answer must not slow every call.
        log.warning("roots/list failed (%s); using the configured folders only", exc)
        folders: tuple[Path, ...] = ()
    else:
        folders = await anyio.to_thread.run_sync(folders_of, result.roots)
    # An answer that crossed a list_changed notification may be stale: not kept.
    if state is not None and state.get(_CHANGES, 0) == changes:
        state[_CACHED] = folders
    return folders


async def roots_changed(ctx: ServerRequestContext[Any, Any], _params: NotificationParams) -> None:
    """``notifications/roots/list_changed``: forget this session's roots (asked again when
    next needed)."""
    state = _connection_state(ctx.session)
    if state is not None:
        state.pop(_CACHED, None)
        state[_CHANGES] = state.get(_CHANGES, 0) + 1


def folders_of(roots: list[Root]) -> tuple[Path, ...]:
    """The ``file://`` roots that are existing folders, resolved (blocking: a worker thread)."""
    found: list[Path] = []
    for root in roots:
        parts = urlsplit(str(root.uri))
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            continue
        path = Path(url2pathname(parts.path) if os.name == "nt" else unquote(parts.path))
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if path.is_absolute() and real.is_dir():
            found.append(real)
    return tuple(dict.fromkeys(found))


async def inputs_for(ctx: Context, inputs: ImageInputs) -> ImageInputs:
    """``inputs``, also reading from the client's roots."""
    return inputs.with_folders(await client_folders(ctx))
