"""Proof that a tenant controls a domain: a DNS TXT record with the domain's own token, and the list of
public mail domains that no tenant may ever claim.

Why a DNS record: verifying a domain makes every address on it this tenant's (members may sign in with
it, invitations to it are refused as "your own domain", guests from it are recognised). Only who runs
the domain's DNS can publish the record, so a tenant cannot claim another organization's domain, nor
take over the guests another tenant invited from it.
"""

import secrets
from functools import lru_cache
from pathlib import Path

import dns.exception
import dns.resolver
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TXT_PREFIX = "b2bportal-verification="
PUBLIC_MAIL_DOMAINS_FILE = Path(__file__).with_name("data") / "public_mail_domains.txt"


class DomainProofUnavailable(Exception):
    """The DNS could not be asked (timeout, no server answered): try again later."""


def new_verification_token() -> str:
    return secrets.token_urlsafe(24)


def txt_record_value(token: str) -> str:
    """What the tenant publishes as a TXT record on the domain."""
    return f"{TXT_PREFIX}{token}"


@lru_cache(maxsize=1)
def public_mail_domains() -> frozenset[str]:
    lines = PUBLIC_MAIL_DOMAINS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def is_public_mail_domain(name: str) -> bool:
    """A free-mail domain, or a subdomain of one: anyone can have an address there."""
    name = name.strip().lower().rstrip(".")
    listed = public_mail_domains()
    return name in listed or any(name.endswith("." + domain) for domain in listed)


def make_resolver() -> dns.resolver.Resolver:
    """The resolver the platform asks: ``settings.DNS_RESOLVER`` ("host:port" or "host", comma-separated
    for several) or, when empty, the system's."""
    configured = (getattr(settings, "DNS_RESOLVER", "") or "").strip()
    if not configured:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        nameservers, port = [], 53
        for item in (part.strip() for part in configured.split(",") if part.strip()):
            host, port_text = _split_host_port(item)
            try:
                port = int(port_text) if port_text else port
            except ValueError:
                raise ImproperlyConfigured(f"DNS_RESOLVER: {item!r} is not host[:port]") from None
            nameservers.append(host)
        resolver.nameservers = nameservers
        resolver.port = port
    resolver.lifetime = float(getattr(settings, "DNS_RESOLVER_TIMEOUT", 5.0))
    return resolver


def _split_host_port(item: str) -> tuple[str, str]:
    if item.startswith("["):  # [::1]:5353
        host, _sep, rest = item[1:].partition("]")
        return host, rest.lstrip(":")
    if item.count(":") == 1:  # 127.0.0.1:5353
        host, _sep, port = item.partition(":")
        return host, port
    return item, ""  # a bare IPv4 or IPv6 address


def txt_values(name: str, *, resolver: dns.resolver.Resolver | None = None) -> list[str]:
    """The TXT strings published on ``name`` (empty when it has none or does not exist)."""
    resolver = resolver or make_resolver()
    try:
        answer = resolver.resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
        raise DomainProofUnavailable(str(exc)) from exc
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def has_proof(name: str, token: str, *, resolver: dns.resolver.Resolver | None = None) -> bool:
    expected = txt_record_value(token).encode()
    values = txt_values(name, resolver=resolver)
    return any(secrets.compare_digest(value.strip().encode(), expected) for value in values)
