"""The client's address comes from REMOTE_ADDR, and from X-Forwarded-For only through trusted proxies
(TRUSTED_PROXIES, directory/net.py) — for the API throttle and allauth's rate limits alike."""

import pytest
from allauth.account.adapter import get_adapter
from django.test import RequestFactory

from directory.api.throttling import GraphThrottle
from directory.net import client_ip

PROXIES = ["10.0.0.0/8", "2001:db8::/32"]


def request_from(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    assert client_ip(request_from("10.0.0.1", "198.51.100.1")) == "10.0.0.1"


def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request_from("203.0.113.9", "198.51.100.1, 10.0.0.7")) == "203.0.113.9"


def test_through_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request_from("10.0.0.1", "198.51.100.1")) == "198.51.100.1"
    # The client wrote "1.1.1.1" itself; the proxies appended what they saw, right-most last.
    assert client_ip(request_from("10.0.0.1", "1.1.1.1, 198.51.100.1, 10.2.3.4")) == "198.51.100.1"
    assert client_ip(request_from("2001:db8::1", "[2001:db8:ffff::2]:443, 2001:db8::5")) == "2001:db8:ffff::2"


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("10.0.0.1", None, "10.0.0.1"),  # a trusted host calling itself (health checks)
    ("10.0.0.1", "10.0.0.2", "10.0.0.2"),  # every hop trusted: the left-most is as far as we can see
    ("10.0.0.1", "198.51.100.1:5123", "198.51.100.1"),  # some proxies append the port
    ("::ffff:10.0.0.1", "::ffff:198.51.100.1", "198.51.100.1"),  # IPv4-mapped addresses are IPv4
    ("10.0.0.1", "not-an-address", None),  # where an address must be: unknown
    ("10.0.0.1", "garbage, 198.51.100.1", "198.51.100.1"),  # left of the client's hop: never read
    ("", "198.51.100.1", None),
])
def test_edge_cases(settings, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_ip(request_from(peer, forwarded)) == expected


def test_the_api_throttle_keys_on_the_client_ip(settings):
    settings.TRUSTED_PROXIES = PROXIES
    throttle = GraphThrottle()
    spoofed = [throttle.get_ident(request_from("203.0.113.9", f"198.51.100.{n}")) for n in range(3)]
    assert spoofed == ["203.0.113.9"] * 3
    assert throttle.get_ident(request_from("10.0.0.1", "198.51.100.1")) == "198.51.100.1"
    assert throttle.get_ident(request_from("10.0.0.1", "nonsense")) == "unknown"  # one shared bucket


def test_allauth_sees_the_same_client_ip(settings):
    settings.TRUSTED_PROXIES = PROXIES
    adapter = get_adapter()
    assert adapter.get_client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    assert adapter.get_client_ip(request_from("10.0.0.1", "198.51.100.1")) == "198.51.100.1"


@pytest.mark.django_db
def test_spoofed_forwarded_for_does_not_escape_the_anonymous_api_throttle(client, settings, monkeypatch):
    monkeypatch.setattr(GraphThrottle, "THROTTLE_RATES", {"graph": "2/10s"})
    settings.TRUSTED_PROXIES = []
    statuses = [client.get("/v1.0/$schema", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
                .status_code for n in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_api_throttle(client, settings, monkeypatch):
    monkeypatch.setattr(GraphThrottle, "THROTTLE_RATES", {"graph": "2/10s"})
    settings.TRUSTED_PROXIES = PROXIES
    statuses = [client.get("/v1.0/$schema", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
                .status_code for n in range(3)]
    assert statuses == [200, 200, 200]
