"""Resumable SSE streams for the streamable HTTP transport: a bounded in-memory event store.

A client whose connection drops during a long call (a 40 s wait) reconnects with GET and
``Last-Event-ID`` and receives what it missed, the call's result included.

The SDK names a stream by the JSON-RPC request id alone, and every session counts its ids
from 0: two sessions' calls share stream ids. Events are therefore kept per session, and a
replay only ever reads the asking session's own events. The store does not see the session,
so ``SessionScope`` tells it through a context variable: a request names its session in the
``mcp-session-id`` header, and the task that routes a session's messages is started by the
request that opened the session and inherits that request's scope, which learns the new id
from the response headers before the client can use it.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from contextvars import ContextVar
from dataclasses import dataclass, field

from mcp.server.streamable_http import (
    MCP_SESSION_ID_HEADER,
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamId,
)
from mcp.types import JSONRPCMessage
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A call's stream holds its progress notifications and, last, its result: the newest events
# are kept. A result carries up to four previews of 48 KB, so the whole store stays under
# about 128 x 200 KB = 25 MB even when every stream ends in a large result.
MAX_EVENTS_PER_STREAM = 64
MAX_STREAMS = 128
# Sent as the SSE ``retry`` field: how long a client waits before reconnecting.
RETRY_MILLISECONDS = 2000


class _Session:
    """The session one HTTP request belongs to; ``key`` becomes the session id once known."""

    __slots__ = ("key",)

    def __init__(self, session_id: str | None) -> None:
        # Until the opening request's answer names the session, its events (only the
        # initialize call's) are kept under a name no later request can present.
        self.key = session_id or f"opening-{secrets.token_hex(8)}"


_current: ContextVar[_Session | None] = ContextVar("imagegen_sse_session", default=None)


def _session_key() -> str:
    session = _current.get()
    return session.key if session is not None else ""


class SessionScope:
    """ASGI middleware: makes the request's session known to ``BoundedEventStore``."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        header = MCP_SESSION_ID_HEADER.lower().encode()
        named = Headers(scope=scope).get(MCP_SESSION_ID_HEADER)
        session = _Session(named)

        async def learn_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", ()):
                    if key.lower() == header:
                        session.key = value.decode("latin-1")
            await send(message)

        token = _current.set(session)
        try:
            await self._app(scope, receive, send if named else learn_session)
        finally:
            _current.reset(token)


@dataclass
class _Stream:
    session: str
    stream_id: StreamId
    # Unguessable, so an event id names one stream of one session and nothing else.
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    events: deque[tuple[int, JSONRPCMessage | None]] = field(
        default_factory=lambda: deque(maxlen=MAX_EVENTS_PER_STREAM)
    )
    next_seq: int = 0


class BoundedEventStore(EventStore):
    """Keeps the newest ``max_events`` events of the ``max_streams`` most recently written
    streams; the least recently written stream is forgotten first."""

    def __init__(
        self, *, max_streams: int = MAX_STREAMS, max_events: int = MAX_EVENTS_PER_STREAM
    ) -> None:
        self._max_streams = max_streams
        self._max_events = max_events
        self._streams: OrderedDict[tuple[str, StreamId], _Stream] = OrderedDict()
        self._by_token: dict[str, _Stream] = {}

    def event_count(self) -> int:
        # Not __len__: the SDK tests the store for truth, and an empty one must still count.
        return sum(len(s.events) for s in self._streams.values())

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        key = (_session_key(), stream_id)
        stream = self._streams.get(key)
        if stream is None:
            stream = _Stream(key[0], stream_id, events=deque(maxlen=self._max_events))
            self._streams[key] = stream
            self._by_token[stream.token] = stream
            while len(self._streams) > self._max_streams:
                _, oldest = self._streams.popitem(last=False)
                del self._by_token[oldest.token]
        else:
            self._streams.move_to_end(key)
        seq = stream.next_seq
        stream.next_seq += 1
        stream.events.append((seq, message))
        return f"{stream.token}.{seq}"

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        token, _, seq_text = last_event_id.rpartition(".")
        stream = self._by_token.get(token)
        if stream is None or stream.session != _session_key() or not seq_text.isdigit():
            return None
        after = int(seq_text)
        for seq, message in list(stream.events):
            # None marks a priming event: a cursor with nothing to deliver.
            if seq > after and message is not None:
                await send_callback(EventMessage(message, f"{stream.token}.{seq}"))
        return stream.stream_id
