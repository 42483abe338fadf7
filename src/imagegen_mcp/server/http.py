"""The streamable-HTTP app: MCP at ``/mcp`` (SSE responses, so progress works) with the
server's own routes (the upstream callback), behind an optional bearer token."""

from __future__ import annotations

import secrets

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.netaddr import is_loopback
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.engine import callback_path

CALLBACK_PREFIX = callback_path("")


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
    # None lets the SDK guard 127.0.0.1/localhost/::1 against DNS rebinding; a public bind
    # has the bearer token instead, and the SDK's host allowlist would refuse real hostnames.
    security = (
        None
        if is_loopback(host)
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    # The SDK's app carries our custom routes and runs the session manager (and so our
    # lifespan) in its own lifespan.
    app = build_server(settings).streamable_http_app(
        json_response=False, transport_security=security, host=host
    )
    return BearerAuth(app, token) if token else app


def run_http(settings: Settings, *, host: str, port: int) -> None:
    uvicorn.run(http_app(settings, host=host), host=host, port=port, log_level="warning")
