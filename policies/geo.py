"""Country of an IP address, offline.

The database is GeoIP2Fast's, shipped inside its PyPI package (``geoip2fast``: IPv4 and IPv6 country
ranges, no network at run time). ``CONDITIONAL_ACCESS_COUNTRY_DATABASE`` in settings may name another
GeoIP2Fast data file (a newer one, or a small one for tests). Private, reserved and unlisted addresses
have no country: conditional access treats them as "unknown countries/regions", its own value.
"""

from __future__ import annotations

import threading

from django.conf import settings

_lock = threading.Lock()
_reader = None


def _load():
    global _reader
    with _lock:
        if _reader is None:
            from geoip2fast import GeoIP2Fast

            path = getattr(settings, "CONDITIONAL_ACCESS_COUNTRY_DATABASE", "") or "geoip2fast-ipv6.dat.gz"
            _reader = GeoIP2Fast(geoip2fast_data_file=path, verbose=False)
    return _reader


def country_of(ip) -> str | None:
    """ISO 3166-1 alpha-2 code of ``ip`` (a string or ipaddress object), or None when unknown."""
    if ip is None:
        return None
    reader = _reader or _load()
    try:
        found = reader.lookup(str(ip))
    except Exception:  # a malformed address is an unknown country, never a crash at sign-in
        return None
    code = getattr(found, "country_code", "") or ""
    if len(code) != 2 or not code.isalpha() or getattr(found, "is_private", False):
        return None
    return code.upper()
