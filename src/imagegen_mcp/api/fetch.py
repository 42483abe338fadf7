"""Fetching a caller's URL ourselves (to measure a base image for a mask) without becoming an
SSRF proxy: only public addresses, checked after DNS, the connection pinned to the checked
address, every redirect re-checked, size and time capped. The configured upstream hosts are the
only exception.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit, urlunsplit

import anyio
import httpx2

from imagegen_mcp.errors import InputError
from imagegen_mcp.netaddr import IPAddress, is_public, literal_address

MAX_FETCH_BYTES = 10 * 1024 * 1024
FETCH_SECONDS = 20.0
MAX_REDIRECTS = 3


async def addresses_of(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` stands for: itself if it is a literal address, else what DNS
    answers here (``OSError`` if it does not resolve)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def _resolve(host: str, port: int) -> IPAddress:
    """The address to connect to: a literal one as given (the caller checks it), else the
    first DNS answer, provided every answer is public."""
    literal = literal_address(host)
    if literal is not None:
        return literal
    try:
        addrs = await addresses_of(host, port)
    except OSError as exc:
        raise InputError(f"Cannot resolve {host!r}: {exc}.") from exc
    bad = [a for a in addrs if not is_public(a)]
    if not addrs or bad:
        raise InputError(
            f"The URL's host {host!r} resolves to a non-public address; only public image URLs "
            "can be fetched. Pass a local file path instead."
        )
    return addrs[0]


async def fetch_public(url: str, *, trusted_hosts: frozenset[str] = frozenset()) -> bytes:
    """GET a public URL's body (<= 10 MB) with the protections described above.

    ``trusted_hosts`` holds exact ``host:port`` netlocs (the configured upstream) exempt from
    the address check.
    """
    try:
        return await _fetch(url, trusted_hosts)
    except httpx2.HTTPError as exc:
        raise InputError(f"Fetching {url[:80]!r} failed: {type(exc).__name__}.") from exc


async def _fetch(url: str, trusted_hosts: frozenset[str]) -> bytes:
    with anyio.move_on_after(FETCH_SECONDS) as scope:
        async with httpx2.AsyncClient(timeout=FETCH_SECONDS, follow_redirects=False) as http:
            for _ in range(MAX_REDIRECTS + 1):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise InputError(f"Only http(s) image URLs can be fetched, not {url[:80]!r}.")
                host = parts.hostname
                port = parts.port or (443 if parts.scheme == "https" else 80)
                target, extensions, headers = url, {}, {}
                if parts.netloc.rsplit("@", 1)[-1] not in trusted_hosts:
                    addr = await _resolve(host, port)
                    if not is_public(addr):
                        raise InputError(
                            f"The URL {url[:80]!r} points at a non-public address ({addr}); "
                            "only public image URLs can be fetched."
                        )
                    # Connect to the address we checked, not to a second DNS answer.
                    literal = f"[{addr}]" if addr.version == 6 else str(addr)
                    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
                    target = urlunsplit(parts._replace(netloc=netloc))
                    headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
                    extensions["sni_hostname"] = host
                async with http.stream(
                    "GET", target, headers=headers, extensions=extensions
                ) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise InputError(
                            f"Fetching {url[:80]!r} failed: HTTP {response.status_code}."
                        )
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_FETCH_BYTES:
                            raise InputError(f"The image at {url[:80]!r} is larger than 10 MB.")
                    return bytes(body)
            raise InputError(f"Fetching {url[:80]!r} took more than {MAX_REDIRECTS} redirects.")
    if scope.cancelled_caught:
        raise InputError(f"Fetching {url[:80]!r} took longer than {FETCH_SECONDS:g} s.")
    raise AssertionError("unreachable")  # pragma: no cover
