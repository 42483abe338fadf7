"""Who may use the playground's routes (``/``, ``/static/...``, ``/api/...``): the same Host
rules as ``/mcp``, the page's own Origin only (and one on every POST), no request another
site's page made, and the token when one is set.

- Host: one of the names ``/mcp`` answers to (``server.http.host_security``), else 421. A page
  on another name that an attacker rebinds to this address is refused like at ``/mcp``.
- Origin: when sent, this server's own origin as the request names it (the Host it was sent
  to), or ``IMAGEGEN_PUBLIC_URL``'s behind a proxy, else 403. Not any port of a loopback name,
  as ``/mcp`` allows: the page is always same-origin, and a page of another local server
  (``http://localhost:3000``) could otherwise post an upload, a request that needs no preflight.
  A POST must carry one (browsers always send it on ``fetch`` POSTs): a form or script on
  another site never gets to start a paid task.
- Fetch metadata: a request a browser marks as sent by another site's page
  (``Sec-Fetch-Site: cross-site`` or ``same-site``, e.g. an ``<img>``, a ``no-cors`` fetch or a
  long poll started there) is refused (403) unless it is a top-level navigation the person made
  (a link opened in a tab). Together with ``Cross-Origin-Resource-Policy`` no other page embeds,
  times or reads these routes.
- The token (``IMAGEGEN_HTTP_TOKEN``, required off loopback): ``Authorization: Bearer <token>``,
  or the cookie that opening ``/?token=<token>`` once sets (HttpOnly, SameSite=Strict), so the
  page's own requests carry it and no script can read it. The cookie holds a value derived from
  the token (an HMAC), not the token: it opens the page's routes only, never ``/mcp``. Compared
  in constant time; never logged or echoed.

Every other path (``/mcp``, the upstream callback) passes through untouched: ``server.http``
guards those as before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagegen_mcp.web.errors import error_response

COOKIE = "imagegen_token"

#: On every answer of these routes: another site's page may not even embed them (an <img> or
#: <script> of ours on its page), nor have a browser guess their type; JSON is never cached, and
#: an answer opened as a document runs and loads nothing (the page's files carry its own policy).
SAME_ORIGIN_HEADERS = {
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
_SAFE_METHODS = frozenset({"GET", "HEAD"})
#: What ``Sec-Fetch-Site`` says of a request this server's own page, or the person, made.
_OWN_SITES = frozenset({"same-origin", "none"})
#: The login's answer to a link opened from another site: on to ``/`` from our own origin.
_MOVE_ON = (
    '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/">'
    '<title>Playground</title><p><a href="/">Open the playground</a></p>'
)


def cookie_value(token: str) -> str:
    """What the page's cookie holds for ``token``."""
    return hmac.new(token.encode(), b"imagegen-mcp playground cookie", hashlib.sha256).hexdigest()


def is_web_path(path: str) -> bool:
    return path == "/" or path.startswith(("/static/", "/api/"))


def matches(value: str, allowed: Sequence[str]) -> bool:
    """``value`` is in ``allowed``, exactly or through an entry ending in ``:*`` (any port),
    as the SDK matches ``/mcp``'s Host and Origin (here the port must be a number)."""
    if value in allowed:
        return True
    return any(
        entry.endswith(":*")
        and value.startswith(entry[:-2] + ":")
        and value[len(entry) - 1 :].isdigit()
        for entry in allowed
    )


class WebGuard:
    """ASGI middleware in front of the app. ``hosts``: the allowed Host headers, or None where
    any name is answered (a bind off loopback without ``IMAGEGEN_ALLOWED_HOSTS``, which requires
    the token instead); ``page_origins``: origins the page may be served from besides the Host
    a request names (the public URL's, behind a proxy)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Sequence[str] | None,
        token: str | None,
        page_origins: Sequence[str] = (),
    ) -> None:
        self._app = app
        self._hosts = hosts
        self._page_origins = frozenset(o.lower() for o in page_origins)
        self._secret = _Secret(token.encode(), cookie_value(token).encode()) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self._app(scope, receive, send)
            return

        async def send_same_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SAME_ORIGIN_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        # The refusals too: another site's page learns nothing even from a 403.
        response = self._refusal(scope, Headers(scope=scope))
        if response is not None:
            await response(scope, receive, send_same_origin)
            return
        await self._app(scope, receive, send_same_origin)

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        host = headers.get("host", "")
        if self._hosts is not None and not matches(host, self._hosts):
            return error_response(
                421,
                "This server does not answer to that host name: open it at the address it "
                "printed (or add the name to IMAGEGEN_ALLOWED_HOSTS).",
            )
        origin = headers.get("origin")
        method = scope["method"]
        if origin is None and method not in _SAFE_METHODS:
            return error_response(
                403, "Refused: a request that changes something must carry an Origin header."
            )
        if origin is not None and not self._origin_allowed(origin, host):
            return error_response(
                403,
                "Refused: requests from another site's page are not accepted here (behind a "
                "proxy that changes the Host, set IMAGEGEN_PUBLIC_URL).",
            )
        if not _own_site_or_navigation(method, headers):
            return error_response(
                403, "Refused: another site's page may not load this server's pages or data."
            )
        secret = self._secret
        if secret is None:
            return None
        given = _query_token(scope)
        if given is not None and scope["path"] == "/" and method in _SAFE_METHODS:
            return _login(secret, given, scope, headers)
        if secret.authorizes(headers):
            return None
        return error_response(
            401,
            "This server needs its token: open the link with ?token=... that it printed, or "
            "send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def _origin_allowed(self, origin: str, host: str) -> bool:
        """The page's own origin: the Host this request was sent to (which passed the Host
        check), or the public URL's."""
        if origin.lower() in self._page_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _own_site_or_navigation(method: str, headers: Headers) -> bool:
    """Not marked by the browser as another site's subresource request (clients that send no
    fetch metadata, like scripts and older browsers, rely on the Origin and Host checks)."""
    site = headers.get("sec-fetch-site")
    if site is None or site in _OWN_SITES:
        return True
    return (
        method in _SAFE_METHODS
        and headers.get("sec-fetch-mode") == "navigate"
        and headers.get("sec-fetch-dest", "document") == "document"
    )


@dataclass(frozen=True)
class _Secret:
    token: bytes
    cookie: bytes  # cookie_value(token)

    def authorizes(self, headers: Headers) -> bool:
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(bearer.strip().encode(), self.token):
            return True
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE)
        return cookie is not None and _same(cookie.encode(), self.cookie)


def _login(secret: _Secret, given: str, scope: Scope, headers: Headers) -> Response:
    """``/?token=...``: the cookie and a redirect to ``/`` (the token leaves the address bar and
    the history), or 401 for a wrong token.

    A link opened from another site's page (a chat, a wiki) is a cross-site navigation: a
    browser sends no SameSite=Strict cookie on a redirect it follows within it, so ``/`` would
    answer 401 (and go on doing so on reload). There the redirect is a page of ours that moves
    on to ``/`` itself, a navigation of our own origin that carries the cookie."""
    if not _same(given.encode(), secret.token):
        return error_response(
            401, "Wrong token: open the link with ?token=... exactly as the server printed it."
        )
    site = headers.get("sec-fetch-site")
    response: Response
    if site is None or site in _OWN_SITES:
        response = RedirectResponse("/", status_code=303)
    else:
        response = HTMLResponse(_MOVE_ON)
    response.set_cookie(
        COOKIE,
        secret.cookie.decode(),
        httponly=True,
        samesite="strict",
        path="/",
        secure=scope.get("scheme") == "https",
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _same(given: bytes, token: bytes) -> bool:
    return secrets.compare_digest(given, token)


def _query_token(scope: Scope) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(query).get("token")
    return values[0] if values else None
