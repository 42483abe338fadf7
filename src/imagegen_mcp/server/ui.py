"""``imagegen-mcp ui``: the playground page in the browser, served by the same HTTP app as
``serve --transport http`` (MCP at ``/mcp``, the page at ``/``), with ``--sandbox`` against the
built-in sandbox.

The socket is bound before anything is printed or opened, so the address printed is the one
served (``--port 0`` takes a free port), and a browser that connects early waits in the
socket's queue rather than failing. The printed link carries ``?token=`` when a token is set:
opening it once sets the page's cookie (``web.guard``). A bind on every address (0.0.0.0, ::)
also prints the links another machine opens (the machine's name, and its non-loopback
addresses that name resolves to), and says the token in them is required. Everything goes to
stderr.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import anyio

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.netaddr import literal_address

if TYPE_CHECKING:
    from imagegen_mcp.sandbox import SandboxConfig
    from imagegen_mcp.server.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ui = sub.add_parser(
        "ui",
        help="open the playground page in the browser (and serve MCP at /mcp beside it)",
        description="Serve the playground page (prompt, references, gallery, history, mask "
        "painting) and MCP at /mcp, and open the page in the browser.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    ui.add_argument("--no-browser", action="store_true", help="only print the page's address")
    ui.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a built-in local sandbox: no key, no network, no credits",
    )


def page_url(host: str, port: int, token: str | None) -> str:
    """The page's address as a browser here opens it: a bind on every address is reached on
    loopback; the token, when set, in the query (it becomes a cookie at once)."""
    ip = literal_address(host)
    if ip is not None and ip.is_unspecified:
        name = "[::1]" if ip.version == 6 else "127.0.0.1"
    elif ip is not None and ip.version == 6:
        name = f"[{ip.compressed}]"
    else:
        name = host
    url = f"http://{name}:{port}/"
    return f"{url}?token={quote(token, safe='')}" if token else url


def remote_urls(
    host: str,
    port: int,
    token: str | None,
    *,
    name: str | None = None,
    allowed: tuple[str, ...] = (),
) -> list[str]:
    """The page's addresses for a browser on another machine when the bind is on every address
    (``name``: this machine's, ``socket.gethostname()`` unless told), else none: a named or
    literal bind address is already the one ``page_url`` prints. With ``IMAGEGEN_ALLOWED_HOSTS``
    (``allowed``) the server answers only to those names: they are the links."""
    ip = literal_address(host)
    if ip is None or not ip.is_unspecified:
        return []
    query = f"?token={quote(token, safe='')}" if token else ""
    if allowed:
        links = []
        for entry in allowed:
            netloc = urlsplit(f"//{entry.removesuffix(':*')}")
            if netloc.hostname and netloc.port in (None, port):
                links.append(f"http://{_url_host(netloc.hostname)}:{port}/{query}")
        return list(dict.fromkeys(links))
    name = name or socket.gethostname()
    names = [_url_host(name)]
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        found = socket.getaddrinfo(name, port, family, socket.SOCK_STREAM)
    except OSError:  # a name the resolver does not know: the name alone, for the person's DNS
        found = []
    for info in found:
        address = literal_address(str(info[4][0]))
        if address is not None and not address.is_loopback and not address.is_link_local:
            names.append(_url_host(address.compressed))
    return [f"http://{n}:{port}/{query}" for n in dict.fromkeys(names)]


def _url_host(name: str) -> str:
    ip = literal_address(name)
    return f"[{ip.compressed}]" if ip is not None and ip.version == 6 else name


def command(args: argparse.Namespace, settings: Settings, sandbox: SandboxConfig | None) -> None:
    """``imagegen-mcp ui``: ``settings`` are the sandbox's own with ``--sandbox``."""
    settings.require_api_key()
    run_ui(
        settings,
        host=args.host,
        port=args.port,
        sandbox=sandbox,
        open_browser=not args.no_browser,
    )


def run_ui(
    settings: Settings,
    *,
    host: str,
    port: int,
    sandbox: SandboxConfig | None,
    open_browser: bool,
) -> None:
    """Serve until interrupted; ``sandbox``: run one in a thread and point the settings at it.

    What cannot be served (a bind off loopback without a token, a port in use, the state) is
    refused in one line before the sandbox starts or anything is printed."""
    from imagegen_mcp.server.http import bind_token
    from imagegen_mcp.server.startup import check_startup

    token = bind_token(settings, host)
    anyio.run(check_startup, settings)
    sock = listen(host, port)
    url = page_url(host, sock.getsockname()[1], token)
    if sandbox is None:
        _serve(settings, sock, url, host=host, token=token, open_browser=open_browser)
        return
    from imagegen_mcp.sandbox import Sandbox

    with Sandbox(sandbox).run_in_thread() as sb:
        print(
            f"Using the built-in sandbox at {sb.base_url}: no key, no network, no credits "
            f"(its tasks and images are kept in {settings.home}).",
            file=sys.stderr,
        )
        pointed = settings.model_copy(update={"api_base": sb.base_url, "files_base": sb.base_url})
        _serve(pointed, sock, url, host=host, token=token, open_browser=open_browser)


def _token_lines(host: str, port: int, token: str | None, allowed: tuple[str, ...]) -> str:
    """With a token: the links for other machines (a bind on every address) and why the links
    carry the token."""
    if token is None:
        return ""
    links = remote_urls(host, port, token, allowed=allowed)
    lines = [f"From another machine: {link}" for link in links]
    lines.append(
        "The page needs the token (IMAGEGEN_HTTP_TOKEN): open a link with ?token= once per "
        "browser, and share it only with people who may spend your credits."
    )
    return "".join(f"{line}\n" for line in lines)


def _serve(
    settings: Settings,
    sock: socket.socket,
    url: str,
    *,
    host: str,
    token: str | None,
    open_browser: bool,
) -> None:
    from imagegen_mcp.server.http import run_http

    port = sock.getsockname()[1]
    print(
        f"Playground: {url}\n{_token_lines(host, port, token, settings.allowed_hosts)}"
        f"MCP (streamable HTTP): {url.split('?')[0]}mcp\nPress Ctrl+C to stop.",
        file=sys.stderr,
        flush=True,
    )
    import webbrowser  # only here: every start of the CLI reads this module

    if open_browser and not webbrowser.open(url):
        print("No browser could be opened: open the address above.", file=sys.stderr)
    run_http(settings, host=host, sock=sock)


def listen(host: str, port: int) -> socket.socket:
    ip = literal_address(host)
    family = socket.AF_INET6 if ip is not None and ip.version == 6 else socket.AF_INET
    if ip is None:  # a name: the first address it has
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        except OSError as exc:
            raise ConfigError(
                f"Cannot listen on {host}: the name does not resolve ({exc.strerror or exc}); "
                "pass --host an address such as 127.0.0.1."
            ) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}): pick another --port "
            "(0 takes any free one)."
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock
