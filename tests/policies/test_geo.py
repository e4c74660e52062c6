"""Country of an IP address from the offline database shipped in the geoip2fast package."""

import ipaddress

import pytest

from policies.geo import country_of


@pytest.mark.parametrize("ip,country", [
    ("193.99.144.80", "DE"),
    ("8.8.8.8", "US"),
    ("175.45.176.1", "KP"),
    (ipaddress.ip_address("81.2.69.142"), "GB"),
    ("2a00:1450:4001:80b::200e", "DE"),
    ("10.1.2.3", None),  # private: the "unknown countries/regions" value
    ("127.0.0.1", None),
    ("2001:db8::1", None),  # documentation range: in no country
    ("not an address", None),
    (None, None),
])
def test_country_of(ip, country):
    assert country_of(ip) == country
