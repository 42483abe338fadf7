"""What kind of address a host is: loopback (safe to serve without a token, reachable by the
sandbox) or public (safe to fetch for a caller).

A bottom layer: it imports only the standard library, so the server, the upstream client and
the sandbox can all ask the same question the same way.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an address if it is written as one (an IPv6 one with or without brackets),
    else None: a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name, an IP literal, or a bracketed IPv6 literal) is this machine.

    Only the exact name ``localhost`` counts among names: any other resolves through DNS, which
    an attacker may control.
    """
    if not host:
        return False
    if host == "localhost":
        return True
    address = literal_address(host)
    return address is not None and address.is_loopback


def _embedded_v4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    packed = addr.packed
    if packed[:12] == bytes(12) and int(addr) > 1:  # IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_public(addr: IPAddress) -> bool:
    """Whether ``addr`` is a globally routable unicast address (embedded IPv4 checked too)."""
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_v4(addr)
        if inner is not None:
            return is_public(inner)
    if addr in _CGNAT:
        return False
    return addr.is_global and not (
        addr.is_multicast or addr.is_loopback or addr.is_link_local or addr.is_reserved
    )
