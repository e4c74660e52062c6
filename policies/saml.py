"""The service provider side of SAML 2.0 domain federation: this tenant's SP metadata for one
configuration, the AuthnRequest (HTTP-Redirect, unsigned as Entra's) and the checks on the Response posted
to the assertion consumer service (HTTP-POST).

Built on python3-saml (OneLogin), which the project already installs for allauth's SAML provider: it
verifies XML signatures in-process through libxmlsec1 (the ``xmlsec`` binding) and guards against
signature wrapping (it checks which elements the signature covers). On top of its strict checks
(signature with the configured certificate, issuer, audience = our entity ID, Destination, a bearer
SubjectConfirmation, InResponseTo = the request we sent), this module adds what it leaves to the caller:

- the request id is bound to the browser session that started it, used once, and expires;
- the Conditions' NotBefore / NotOnOrAfter with a small skew (``CLOCK_SKEW``, tighter than the library's
  five minutes), and a SubjectConfirmationData whose Recipient is exactly our ACS;
- an assertion id is accepted once (the cache remembers it until the assertion expires): a replay is
  refused even when two requests race with the same session's pending request;
- the e-mail (Entra's ``emailaddress`` claim, or an e-mail NameID) must be on one of the configuration's
  domains.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import ExternalDomainFederation

CLOCK_SKEW = timedelta(seconds=90)
REQUEST_LIFETIME = timedelta(minutes=10)
MAX_PENDING_REQUESTS = 5  # per session: a few tabs at once, not an unbounded list
MAX_RESPONSE_BYTES = 256 * 1024
PENDING_KEY = "policies.saml.pending"

NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
EMAIL_CLAIMS = (
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",  # Entra's (and ADFS's) claim
    "urn:oid:0.9.2342.19200300.100.1.3", "email", "emailAddress", "mail",
)
NAME_CLAIMS = ("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
               "http://schemas.microsoft.com/identity/claims/displayname", "urn:oid:2.16.840.1.113730.3.1.241",
               "displayName", "cn")


class SamlRefused(Exception):
    """A response this service provider does not accept; ``code`` for tests and logs, ``message`` for the
    person (never the IdP's own text)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class SamlAssertion:
    issuer: str
    name_id: str
    name_id_format: str
    email: str
    display_name: str
    assertion_id: str

    @property
    def subject(self) -> str:
        """What the account is keyed on: a persistent NameID, else the e-mail (Entra's ImmutableID or the
        address)."""
        return self.name_id if self.name_id_format == NAMEID_PERSISTENT and self.name_id else self.email


# --- this service provider ------------------------------------------------------------------------


def sp_entity_id(federation: ExternalDomainFederation) -> str:
    return settings.SITE_URL + reverse("policies:saml_metadata", args=[federation.tenant.slug, federation.pk])


def acs_url(federation: ExternalDomainFederation) -> str:
    return settings.SITE_URL + reverse("policies:saml_acs", args=[federation.tenant.slug, federation.pk])


def begin_url(federation: ExternalDomainFederation) -> str:
    """Where a redemption or a sign-in starts (a path; ``?next=`` is added by the caller)."""
    return reverse("policies:saml_begin", args=[federation.tenant.slug, federation.pk])


def _settings(federation: ExternalDomainFederation):
    from onelogin.saml2.settings import OneLogin_Saml2_Settings

    return OneLogin_Saml2_Settings({
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp_entity_id(federation),
            "assertionConsumerService": {"url": acs_url(federation),
                                         "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
            "NameIDFormat": NAMEID_PERSISTENT,  # Entra asks for a persistent NameID
            "x509cert": "", "privateKey": "",
        },
        "idp": {
            "entityId": federation.issuer_uri,
            "singleSignOnService": {"url": federation.passive_sign_in_uri,
                                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "x509cert": federation.signing_certificate,
        },
        "security": {
            "authnRequestsSigned": False,  # Entra's requests are unsigned too
            "wantAssertionsSigned": False,  # the Response or the Assertion must be signed (either will do)
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantAttributeStatement": False,  # the e-mail may be the NameID
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,  # no SHA-1 signatures
            "allowRepeatAttributeName": True,
            "allowSingleLabelDomains": True,  # a deployment may live on an intranet host name
        },
    }, sp_validation_only=False)


def sp_metadata(federation: ExternalDomainFederation) -> str:
    """The SP metadata the partner's IdP is configured with (entity ID, ACS, NameID format)."""
    metadata = _settings(federation).get_sp_metadata()
    return metadata.decode("utf-8") if isinstance(metadata, bytes) else metadata


def start_authn_request(request, federation: ExternalDomainFederation, *, next_url: str) -> str:
    """The IdP URL to send the browser to; the request's id is bound to this session (used once)."""
    from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    authn = OneLogin_Saml2_Authn_Request(_settings(federation), set_nameid_policy=True)
    now = time.time()
    pending = {k: v for k, v in (request.session.get(PENDING_KEY) or {}).items()
               if isinstance(v, dict) and v.get("expires", 0) > now}
    while len(pending) >= MAX_PENDING_REQUESTS:
        pending.pop(min(pending, key=lambda k: pending[k]["expires"]))
    pending[authn.get_id()] = {"federation": str(federation.pk), "next": next_url,
                               "expires": now + REQUEST_LIFETIME.total_seconds()}
    request.session[PENDING_KEY] = pending
    return OneLogin_Saml2_Utils.redirect(federation.passive_sign_in_uri,
                                         {"SAMLRequest": authn.get_request(deflate=True)}, True)


def _request_data(federation: ExternalDomainFederation, post: dict) -> dict:
    # The URL the response must have been sent to is ours as configured (SITE_URL), not what the Host
    # header of this request says.
    url = urlsplit(acs_url(federation))
    return {"https": "on" if url.scheme == "https" else "off", "http_host": url.netloc, "script_name": url.path,
            "get_data": {}, "post_data": post}


_LIBRARY_CODES = {
    # OneLogin_Saml2_ValidationError codes → ours
    "INVALID_SIGNATURE": "signature", "NO_SIGNATURE_FOUND": "signature", "NO_SIGNED_ASSERTION": "signature",
    "NO_SIGNED_MESSAGE": "signature", "INVALID_SIGNED_ELEMENT": "signature", "DUPLICATED_ID_IN_SIGNED_ELEMENTS":
        "signature", "DUPLICATED_REFERENCE_IN_SIGNED_ELEMENTS": "signature", "UNEXPECTED_SIGNED_ELEMENTS": "signature",
    "WRONG_SIGNED_ELEMENT": "signature", "ID_NOT_FOUND_IN_SIGNED_ELEMENT": "signature",
    "WRONG_NUMBER_OF_SIGNATURES": "signature", "DEPRECATED_SIGNATURE_METHOD": "weak_signature",
    "DEPRECATED_DIGEST_METHOD": "weak_signature", "RESPONSE_EXPIRED": "expired",
    "ASSERTION_EXPIRED": "expired", "ASSERTION_TOO_EARLY": "expired", "SESSION_EXPIRED": "expired",
    "WRONG_SUBJECTCONFIRMATION": "expired",  # the bearer confirmation's NotOnOrAfter passed (or a wrong Recipient)
    "WRONG_AUDIENCE": "audience", "WRONG_DESTINATION": "destination", "EMPTY_DESTINATION": "destination",
    "WRONG_ISSUER": "issuer", "WRONG_INRESPONSETO": "unsolicited", "STATUS_CODE_IS_NOT_SUCCESS": "idp_refused",
}


def _messages() -> dict[str, str]:
    return {
        "malformed": _("The identity provider's answer could not be read."),
        "signature": _("The identity provider's answer is not signed with the certificate this organization "
                       "configured for it, or it was changed on the way."),
        "expired": _("The identity provider's answer has expired (or is not valid yet). Sign in again."),
        "weak_signature": _("The identity provider signed its answer with SHA-1, which is no longer accepted. Ask "
                            "its administrator to sign with SHA-256."),
        "audience": _("The identity provider's answer was meant for another service."),
        "destination": _("The identity provider's answer was addressed to another place."),
        "issuer": _("The answer came from another identity provider than the one configured."),
        "idp_refused": _("The identity provider did not sign you in."),
        "unsolicited": _("This sign-in was not started here, or it was already used. Start again from your "
                         "invitation or the sign-in page."),
        "replayed": _("This sign-in answer was already used. Start again from your invitation or the sign-in "
                      "page."),
        "no_email": _("The identity provider did not say which e-mail address you signed in with."),
        "wrong_domain": _("You signed in with an address whose domain this identity provider does not serve "
                          "here. Sign in with your work account on one of its domains."),
        "invalid": _("The identity provider's answer is not valid."),
    }


def refuse(code: str) -> SamlRefused:
    return SamlRefused(code, _messages().get(code, _messages()["invalid"]))


def _parse_time(value: str) -> float:
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    return OneLogin_Saml2_Utils.parse_SAML_to_time(value)


def consume_response(request, federation: ExternalDomainFederation, saml_response: str) -> tuple[SamlAssertion, str]:
    """Check the posted ``SAMLResponse`` for ``federation``; return the assertion and the ``next`` its
    request was started with. Raises :class:`SamlRefused`."""
    from onelogin.saml2.errors import OneLogin_Saml2_ValidationError
    from onelogin.saml2.response import OneLogin_Saml2_Response

    if not saml_response or len(saml_response) > MAX_RESPONSE_BYTES or "\x00" in saml_response:
        raise refuse("malformed")
    try:
        response = OneLogin_Saml2_Response(_settings(federation), saml_response)
        in_response_to = response.get_in_response_to()
    except Exception:  # not base64, not XML, not a Response
        raise refuse("malformed") from None
    now = time.time()
    pending = request.session.get(PENDING_KEY) or {}
    bound = pending.get(in_response_to) if isinstance(in_response_to, str) else None
    if not isinstance(bound, dict) or bound.get("federation") != str(federation.pk) or bound.get("expires", 0) <= now:
        bound = None
    try:
        response.is_valid(_request_data(federation, {"SAMLResponse": saml_response}),
                          request_id=in_response_to if bound else None, raise_exceptions=True)
    except OneLogin_Saml2_ValidationError as exc:
        names = {v: k for k, v in vars(OneLogin_Saml2_ValidationError).items() if k.isupper()}
        raise refuse(_LIBRARY_CODES.get(names.get(exc.code, ""), "invalid")) from None
    except Exception:
        raise refuse("invalid") from None
    # Conditions within a small skew (the library allows five minutes).
    expires_at = None
    for conditions in response._query_assertion("/saml:Conditions"):
        not_before, not_after = conditions.get("NotBefore"), conditions.get("NotOnOrAfter")
        if not_before and _parse_time(not_before) - CLOCK_SKEW.total_seconds() > now:
            raise refuse("expired")
        if not_after:
            expires_at = _parse_time(not_after)
            if expires_at + CLOCK_SKEW.total_seconds() <= now:
                raise refuse("expired")
    # A bearer confirmation addressed exactly to our ACS (the library compares by substring).
    recipients = [node.get("Recipient") for node in
                  response._query_assertion("/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")]
    if acs_url(federation) not in recipients:
        raise refuse("destination")
    assertion_id = response.get_assertion_id()
    if not assertion_id:
        raise refuse("invalid")
    # Only an answer to a request this session started counts (and burns nothing otherwise: a stranger
    # posting someone's response cannot use it up).
    if bound is None:
        raise refuse("unsolicited")
    # Each assertion once, whatever the session says: two requests racing with the same session both see
    # the pending request, but only one adds the id (atomic in Redis and locmem). Remembered until the
    # assertion could no longer be accepted anyway.
    keep = max(60, int((expires_at or now + 300) - now + CLOCK_SKEW.total_seconds()))
    key = "saml:seen:" + hashlib.sha256(f"{federation.issuer_uri}\n{assertion_id}".encode()).hexdigest()
    if not cache.add(key, 1, timeout=keep):
        raise refuse("replayed")
    pending.pop(in_response_to, None)
    request.session[PENDING_KEY] = pending
    assertion = _assertion(federation, response, assertion_id)
    return assertion, bound.get("next") or ""


def _first(attributes: dict, names) -> str:
    for name in names:
        values = attributes.get(name) or []
        for value in values:
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _assertion(federation: ExternalDomainFederation, response, assertion_id: str) -> SamlAssertion:
    name_id, name_id_format = response.get_nameid() or "", response.get_nameid_format() or ""
    attributes = response.get_attributes() or {}
    email = _first(attributes, EMAIL_CLAIMS)
    if not email and (name_id_format == NAMEID_EMAIL or "@" in name_id):
        email = name_id
    email = email.lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise refuse("no_email")
    domain = email.rpartition("@")[2]
    if not federation.domains.filter(name=domain).exists():
        raise refuse("wrong_domain")
    return SamlAssertion(issuer=federation.issuer_uri, name_id=name_id, name_id_format=name_id_format,
                         email=email, display_name=_first(attributes, NAME_CLAIMS)[:256], assertion_id=assertion_id)
