"""Streamable HTTP transport at ``/mcp`` (SSE responses, so progress works), optional bearer
token, and the upstream-callback route on an unguessable path."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.server.app import StateHolder, build_server
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.engine import callback_path

CALLBACK_PREFIX = callback_path("")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """Requires ``Authorization: Bearer <token>`` on everything but the callback route."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(CALLBACK_PREFIX):
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"")
            scheme, _, token = given.partition(b" ")
            if scheme.lower() != b"bearer" or not secrets.compare_digest(
                token.strip(), self._token
            ):
                response = JSONResponse(
                    {"error": "unauthorized", "message": "Send Authorization: Bearer <token>."},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def http_app(settings: Settings, *, host: str = "127.0.0.1") -> ASGIApp:
    """The ASGI app: MCP at /mcp plus the callback route; bearer-protected when a token is set."""
    token = settings.http_token.get_secret_value() if settings.http_token else None
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"Refusing to serve on {host} without authentication: set IMAGEGEN_HTTP_TOKEN "
            "(clients send it as 'Authorization: Bearer <token>'), or bind to 127.0.0.1."
        )
    holder = StateHolder()
    mcp = build_server(settings, holder)
    security = (
        None
        if is_loopback(host)
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    mcp_app = mcp.streamable_http_app(json_response=False, transport_security=security, host=host)

    async def callback(request: Request) -> Response:
        state = holder.state
        if state is None:
            return JSONResponse({"ok": False}, status_code=503)
        # The body is unsigned: it only triggers a confirming GET, its content is ignored.
        found = await state.engine.handle_callback(request.path_params["token"])
        return JSONResponse({"ok": found}, status_code=200 if found else 404)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():  # a mounted app's own lifespan never runs
            yield

    app = Starlette(
        routes=[
            Route(CALLBACK_PREFIX + "{token}", callback, methods=["POST"]),
            Mount("/", app=mcp_app),
        ],
        lifespan=lifespan,
    )
    return BearerAuth(app, token) if token else app


def run_http(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(http_app(settings, host=host), host=host, port=port, log_level="warning")
