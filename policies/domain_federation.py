"""The rules of SAML/WS-Fed domain federation (Entra's "SAML/WS-Fed IdP federation"), shared by the
services, the console's forms and the API: what a configuration's properties may hold, which domains may
be federated, and reading a partner's metadata document.

Entra's rules kept here (external-id/direct-federation.md): the passive sign-in endpoint is https only;
the signing certificate is the public part of the IdP's token-signing certificate (base64 DER); a domain
is federated by at most one configuration per tenant; a domain verified by the tenant itself is never
federated (its own users sign in here), nor a public mail domain (anyone has an address there; the
directory's list, ``directory.domain_proof``). Stricter than Entra (which allows an Entra-verified domain
and lets the redemption order prefer its home tenant): a domain of another organization on this platform
(verified, or its initial domain, or below one) is refused too, as for every identity provider here
(``policies.services.identity_providers``): one tenant's administrator never vouches for another
organization's people.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from directory.domain_proof import is_public_mail_domain
from directory.models import Domain, Tenant
from directory.validators import validate_domain_name

MAX_CERTIFICATE_CHARS = 16_000  # a 4096-bit RSA certificate is ~2 KB of base64; chains are not taken
MAX_METADATA_BYTES = 256 * 1024  # a federation metadata document of a single IdP is a few KB
MAX_DOMAINS_PER_FEDERATION = 1000
_PEM = re.compile(r"-----(BEGIN|END) CERTIFICATE-----")


class FederationInvalid(ValidationError):
    """A configuration Graph would refuse; the message says which property and why."""


def _text(value, name: str, *, max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FederationInvalid(_("%(name)s must be text.") % {"name": name})
    value = value.strip()
    if "\x00" in value:
        raise FederationInvalid(_("%(name)s cannot contain a NUL character.") % {"name": name})
    if required and not value:
        raise FederationInvalid(_("%(name)s is required.") % {"name": name})
    if len(value) > max_length:
        raise FederationInvalid(_("%(name)s is longer than %(max)s characters.") % {"name": name, "max": max_length})
    return value


def clean_display_name(value) -> str:
    return _text(value, "displayName", max_length=256)


def clean_issuer_uri(value) -> str:
    """The IdP's entity ID: a URI (https://…, urn:…), without spaces."""
    value = _text(value, "issuerUri", max_length=1000)
    if any(c.isspace() for c in value) or ":" not in value:
        raise FederationInvalid(_("issuerUri must be a URI, such as https://sts.fabrikam.com/adfs/services/trust."))
    return value


def clean_https_url(value, name: str, *, required: bool) -> str:
    value = _text(value, name, max_length=1000, required=required)
    if not value:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
        raise FederationInvalid(_("%(name)s must be an https:// URL.") % {"name": name})
    return value


def clean_protocol(value) -> str:
    from .models import ExternalDomainFederation

    if value not in ExternalDomainFederation.Protocol.values:
        raise FederationInvalid(_("preferredAuthenticationProtocol must be saml or wsFed."))
    return value


def clean_certificate(value) -> str:
    """The certificate as Graph stores it: base64 DER, one line. PEM (with its armour) is accepted too."""
    value = _text(value, "signingCertificate", max_length=MAX_CERTIFICATE_CHARS)
    body = "".join(_PEM.sub("", value).split())
    try:
        der = base64.b64decode(body, validate=True)
        x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError, TypeError):
        raise FederationInvalid(_("signingCertificate must be an X.509 certificate, base64-encoded (the public part "
                                  "of the identity provider's token-signing certificate).")) from None
    return base64.b64encode(der).decode("ascii")


def certificate_info(value: str) -> dict:
    """Subject and validity of a stored certificate, for the console."""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(value))
    except (binascii.Error, ValueError, TypeError):
        return {}
    return {"subject": cert.subject.rfc4514_string(), "not_after": cert.not_valid_after_utc,
            "not_before": cert.not_valid_before_utc}


def clean_domain_name(value, *, tenant: Tenant, federation_id=None) -> str:
    """A domain this tenant may federate: a valid name, not a public mail domain, not one of the tenant's
    own verified domains (or below one), not federated by another of its configurations."""
    from .models import ExternalDomainName

    name = _text(value, "domain", max_length=253).lower().rstrip(".")
    try:
        validate_domain_name(name)
    except ValidationError:
        raise FederationInvalid(_("“%(domain)s” is not a valid domain name (for example fabrikam.com).")
                                % {"domain": name[:80]}) from None
    if is_public_mail_domain(name):
        raise FederationInvalid(_("“%(domain)s” is a public mail domain: anyone can have an address there, so it "
                                  "cannot be federated.") % {"domain": name})
    # The name and every domain above it: a verified root covers its subdomains.
    labels = name.split(".")
    above = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    verified = list(Domain.objects.filter(name__in=above, is_verified=True).values_list("tenant_id", flat=True))
    verified += list(Tenant.objects.filter(initial_domain__in=above).values_list("pk", flat=True))
    if tenant.pk in verified:
        raise FederationInvalid(_("“%(domain)s” is verified by this organization: its users sign in here, not "
                                  "at a partner's identity provider.") % {"domain": name})
    if verified:
        raise FederationInvalid(_("“%(domain)s” belongs to an organization on this platform: its people sign in "
                                  "with their accounts here.") % {"domain": name})
    taken = ExternalDomainName.objects.filter(tenant=tenant, name=name)
    if federation_id is not None:
        taken = taken.exclude(federation_id=federation_id)
    if taken.exists():
        raise FederationInvalid(_("“%(domain)s” is already federated by another identity provider configuration.")
                                % {"domain": name}, code="conflict")
    return name


def clean_domain_list(values, *, tenant: Tenant, federation_id=None) -> list[str]:
    if not isinstance(values, list):
        raise FederationInvalid(_("domains must be a list of externalDomainName objects."))
    if len(values) > MAX_DOMAINS_PER_FEDERATION:
        raise FederationInvalid(_("A configuration holds at most %(n)s domains.") % {"n": MAX_DOMAINS_PER_FEDERATION})
    names: list[str] = []
    for item in values:
        raw = item.get("id") if isinstance(item, dict) else item
        name = clean_domain_name(raw, tenant=tenant, federation_id=federation_id)
        if name in names:
            raise FederationInvalid(_("“%(domain)s” is listed twice.") % {"domain": name})
        names.append(name)
    return names


# --- a partner's metadata document --------------------------------------------------------------


@dataclass(frozen=True)
class IdpMetadata:
    issuer_uri: str
    passive_sign_in_uri: str
    signing_certificate: str


def parse_idp_metadata(xml: str | bytes) -> IdpMetadata:
    """Read an IdP's SAML metadata (EntityDescriptor with an IDPSSODescriptor): its entity ID, the
    HTTP-Redirect single sign-on endpoint and the signing certificate. python3-saml's parser reads it with
    entity expansion and network access off; the size is capped before it is parsed."""
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if not data.strip():
        raise FederationInvalid(_("The metadata document is empty."))
    if len(data) > MAX_METADATA_BYTES:
        raise FederationInvalid(_("The metadata document is larger than %(kb)s KB.") % {"kb": MAX_METADATA_BYTES // 1024})
    if b"\x00" in data:
        raise FederationInvalid(_("The metadata document cannot contain a NUL character."))
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(
            data, required_sso_binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect")
    except Exception:  # lxml's and the parser's errors alike: the document is not usable metadata
        raise FederationInvalid(_("This is not a SAML 2.0 identity provider metadata document.")) from None
    idp = parsed.get("idp") or {}
    certificate = idp.get("x509cert") or next(iter((idp.get("x509certMulti") or {}).get("signing") or []), "")
    if not idp.get("entityId") or not (idp.get("singleSignOnService") or {}).get("url") or not certificate:
        raise FederationInvalid(_("The metadata names no entity ID, no HTTP-Redirect sign-on endpoint or no signing "
                                  "certificate."))
    return IdpMetadata(issuer_uri=clean_issuer_uri(idp["entityId"]),
                       passive_sign_in_uri=clean_https_url(idp["singleSignOnService"]["url"], "passiveSignInUri",
                                                           required=True),
                       signing_certificate=clean_certificate(certificate))
