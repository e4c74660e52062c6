"""The client's IP address, decided in one place from the TRUSTED_PROXIES setting.

Throttles, allauth's rate limits, audit rows and (later) sign-in logs and named locations all ask
``client_ip``. X-Forwarded-For is a header anyone can send: it is read only when the peer that connected
(REMOTE_ADDR) is a proxy this deployment trusts, and then only as far as the chain of trusted proxies goes.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES entries (addresses or CIDR ranges) as networks; ValueError on a malformed one."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(entries)


def _address(text: str) -> IPAddress | None:
    """An address as a proxy may write it: bare, ``1.2.3.4:port`` or ``[v6]:port``; IPv4-mapped IPv6 as IPv4."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(address: IPAddress) -> bool:
    return any(address in network for network in _trusted(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy; then the right-most
    X-Forwarded-For entry that is not a trusted proxy (each trusted proxy appends the peer it saw, so
    entries left of the first untrusted one are the client's own claims). ``None`` when unknown (a
    malformed address where an address must be): callers fail closed."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None or not is_trusted_proxy(peer):
        return str(peer) if peer is not None else None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in forwarded.split(",") if hop.strip()] if forwarded else []
    nearest = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not is_trusted_proxy(address):
            return str(address)
        nearest = address
    return str(nearest)  # every hop is a trusted proxy: the request started inside the proxy network
