"""The streamable-HTTP app: MCP at ``/mcp`` (SSE responses, so progress works) with the
server's own routes (the upstream callback, the playground's page and API), behind an optional
bearer token; the playground's routes behind ``web.guard``, which takes the token as a cookie
too."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.netaddr import is_loopback, literal_address
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.events import RETRY_MILLISECONDS, BoundedEventStore, SessionScope
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.service.wire import callback_path
from imagegen_mcp.web.guard import WebGuard, is_web_path

CALLBACK_PREFIX = callback_path("")


class BearerAuth:
    """Requires ``Authorization: Bearer <token>`` on everything but the callback route and the
    playground's routes (``web.guard`` takes the token there, also as its cookie)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path and not path.startswith(CALLBACK_PREFIX) and not is_web_path(path):
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


# Names that reach this machine only: always allowed on a loopback bind.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _as_host(address: str) -> list[str]:
    """A bind address as Host headers show it: as written, and in its canonical form (an IPv6
    literal in brackets; ``0:0:0:0:0:0:0:1`` is also ``[::1]``)."""
    bare = address.strip("[]")
    ip = literal_address(address)
    if ip is None:
        return [address.lower()]
    if ip.is_unspecified:
        return []  # 0.0.0.0 / :: never name the server in a Host header
    if ip.version == 6:
        return [f"[{bare.lower()}]", f"[{ip.compressed}]"]
    return [bare]


def host_security(settings: Settings, host: str) -> TransportSecuritySettings:
    """Which Host and Origin headers MCP requests may carry (DNS-rebinding protection).

    A loopback bind answers only to its own address, the loopback names, the public URL's host
    and ``IMAGEGEN_ALLOWED_HOSTS``, token or not: a browser page whose name an attacker rebinds
    to 127.x would otherwise reach it. Any other bind requires the token, which a rebound page
    cannot send; it is restricted too once ``IMAGEGEN_ALLOWED_HOSTS`` is set.
    """
    if not is_loopback(host) and not settings.allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = [*_as_host(host), *LOCAL_HOSTS, *settings.allowed_hosts]
    if settings.public_url:
        names.append(urlsplit(settings.public_url).netloc.lower())
    hosts: list[str] = []
    origins: list[str] = []
    for name in dict.fromkeys(names):
        # The SDK matches exactly, or any port for an entry ending in ":*".
        has_port = urlsplit(f"//{name}").port is not None
        forms = [name] if has_port else [name, f"{name}:*"]
        hosts += forms
        origins += [f"{scheme}://{form}" for form in forms for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def bind_token(settings: Settings, host: str) -> str | None:
    """The token the app requires, or None; a ``ConfigError`` for a bind off loopback without
    one."""
    token = settings.http_token.get_secret_value() if settings.http_token else None
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"Refusing to serve on {host} without authentication: set IMAGEGEN_HTTP_TOKEN "
            "(clients send it as 'Authorization: Bearer <token>'), or bind to 127.0.0.1."
        )
    return token


def http_app(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    poller: PollerConfig | None = None,
    static_dir: Path | None = None,
) -> ASGIApp:
    """The ASGI app: MCP at /mcp, the callback route and the playground (``/``, ``/api/``);
    bearer-protected when a token is set.

    ``host`` is the bind address; ``poller`` overrides the polling policy, ``static_dir`` the
    page's folder (tests).
    """
    token = bind_token(settings, host)
    # The SDK's app carries our custom routes and runs the session manager (and so our
    # lifespan) in its own lifespan. Its host check covers /mcp only: the callback route is
    # reached by the upstream under any name, and only triggers a confirming GET.
    # An event store makes each call's SSE stream resumable: a client that lost its connection
    # reconnects with Last-Event-ID (after the SSE retry delay) and still gets the result.
    # Roots name folders on the client's machine: only a loopback bind's clients share ours.
    security = host_security(settings, host)
    server = build_server(
        settings, poller=poller, trust_roots=is_loopback(host), page=True, static_dir=static_dir
    )
    app = server.streamable_http_app(
        json_response=False,
        transport_security=security,
        host=host,
        event_store=BoundedEventStore(),
        retry_interval=RETRY_MILLISECONDS,
    )
    scoped = SessionScope(app)
    inner = BearerAuth(scoped, token) if token else scoped
    # The playground's routes answer to the names /mcp answers to, and only to their own page.
    restricted = security.enable_dns_rebinding_protection
    public = urlsplit(settings.public_url) if settings.public_url else None
    return WebGuard(
        inner,
        hosts=security.allowed_hosts if restricted else None,
        token=token,
        page_origins=[f"{public.scheme}://{public.netloc}"] if public else (),
    )


def run_http(settings: Settings, *, host: str, sock: socket.socket) -> None:
    """Serve on ``sock``, bound by the caller (which has already said where). No access log: a
    playground link's query may carry the token."""
    app = http_app(settings, host=host)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
