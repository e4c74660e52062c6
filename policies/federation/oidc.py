"""The OpenID Connect relying party: authorization code flow with PKCE (S256), ``state`` and ``nonce``,
against an identity provider's discovery document; the ID token's signature (the provider's JWKS),
issuer, audience, expiry and nonce are checked with PyJWT.

Why PyJWT and not allauth's ``openid_connect`` provider: allauth configures a provider as a ``SocialApp``
row (its secret in clear text, one provider id per app, sign-up through allauth's social flow), while
identity providers here are per tenant, with encrypted secrets, routed by the redemption order, and must
end in the one federation flow (``directory.federation``) with the partner's ``tid`` and ``amr``. PyJWT is
already installed with allauth's identity provider (which signs our own ID tokens with it).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext as _

from ..models import IdentityProvider
from .secrets import SecretUnreadable, decrypt_secret

SESSION_KEY = "policies.federation.oidc"
PENDING_MAX = 5  # sign-ins started in parallel (several tabs); older ones are forgotten
PENDING_SECONDS = 600
MULTI_TENANT = ("organizations", "common")
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class OIDCError(Exception):
    """The provider's answer can't be used; ``code`` is OAuth's (``access_denied``, …) or ours."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def well_known_issuer(idp: IdentityProvider) -> str:
    """The issuer a provider's tokens carry: configured (OIDC, partner deployment) or well known."""
    if idp.kind in (IdentityProvider.Kind.GOOGLE, IdentityProvider.Kind.MICROSOFT):
        template = settings.FEDERATION_WELL_KNOWN_ISSUERS[idp.kind]
        return template.replace("{tenant}", idp.microsoft_tenant or "organizations").rstrip("/")
    return (idp.issuer or "").rstrip("/")


def metadata_url(idp: IdentityProvider) -> str:
    if idp.kind == IdentityProvider.Kind.OIDC and idp.metadata_url:
        return idp.metadata_url
    return f"{well_known_issuer(idp)}/.well-known/openid-configuration"


def fetch_metadata(url: str) -> dict:
    """The discovery document (cached FEDERATION_METADATA_CACHE_SECONDS)."""
    key = "federation.metadata:" + hashlib.sha256(url.encode()).hexdigest()
    data = cache.get(key)
    if data is None:
        try:
            response = requests.get(url, timeout=settings.FEDERATION_HTTP_TIMEOUT)
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError):
            raise OIDCError("temporarily_unavailable", _("The identity provider's metadata could not be read.")) from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in (
                "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")):
            raise OIDCError("invalid_metadata", _("The identity provider's metadata is incomplete."))
        cache.set(key, data, settings.FEDERATION_METADATA_CACHE_SECONDS)
    return data


def redirect_uri(idp: IdentityProvider) -> str:
    """The address the provider sends the person back to (registered at the provider)."""
    return callback_url(idp.tenant)


def callback_url(tenant) -> str:
    """The tenant's one redirect URI, registered at each of its providers (known before any is added)."""
    return settings.SITE_URL + reverse("policies:federation_callback", args=[tenant.slug])


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_url(session, idp: IdentityProvider, *, next_url: str, login_hint: str = "") -> str:
    """Start a sign-in: remember state, nonce and the PKCE verifier in the session, and answer the
    provider's authorization URL."""
    metadata = fetch_metadata(metadata_url(idp))
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = _pkce_pair()
    now = time.time()
    pending = {k: v for k, v in (session.get(SESSION_KEY) or {}).items() if now - v.get("at", 0) < PENDING_SECONDS}
    for old in sorted(pending, key=lambda k: pending[k]["at"])[:max(0, len(pending) - PENDING_MAX + 1)]:
        pending.pop(old)
    pending[state] = {"idp": str(idp.pk), "nonce": nonce, "verifier": verifier, "next": next_url, "at": now}
    session[SESSION_KEY] = pending
    params = {"response_type": "code", "client_id": idp.client_id, "redirect_uri": redirect_uri(idp),
              "scope": idp.scope or "openid email profile", "state": state, "nonce": nonce,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    if login_hint:
        params["login_hint"] = login_hint
    joiner = "&" if "?" in metadata["authorization_endpoint"] else "?"
    return f"{metadata['authorization_endpoint']}{joiner}{urlencode(params)}"


def take_pending(session, state: str) -> dict:
    """The sign-in ``state`` names (with its provider's id under "idp"), used once; refuses an unknown or
    expired state."""
    pending = dict(session.get(SESSION_KEY) or {})
    entry = pending.pop(state, None) if isinstance(state, str) else None
    session[SESSION_KEY] = pending
    if entry is None or time.time() - entry.get("at", 0) > PENDING_SECONDS:
        raise OIDCError("invalid_state", _("This sign-in has expired or was not started here. Start again."))
    return entry


@dataclass(frozen=True)
class VerifiedIdentity:
    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    amr: tuple[str, ...]
    tenant_id: str
    claims: dict


def _jwks_client(uri: str) -> jwt.PyJWKClient:
    clients = _JWKS_CLIENTS
    if uri not in clients:
        clients[uri] = jwt.PyJWKClient(uri, cache_keys=True, lifespan=3600,
                                       timeout=int(settings.FEDERATION_HTTP_TIMEOUT))
    return clients[uri]


_JWKS_CLIENTS: dict[str, jwt.PyJWKClient] = {}


def validate_id_token(id_token: str, *, idp: IdentityProvider, metadata: dict, nonce: str) -> dict:
    """The ID token's claims, once its signature (the provider's keys), issuer, audience, expiry and nonce
    check out."""
    expected_issuer = well_known_issuer(idp) or metadata["issuer"].rstrip("/")
    try:
        key = _jwks_client(metadata["jwks_uri"]).get_signing_key_from_jwt(id_token)
        claims = jwt.decode(id_token, key.key, algorithms=ALGORITHMS, audience=idp.client_id,
                            options={"require": ["iss", "sub", "aud", "exp", "iat"]}, leeway=60)
    except jwt.PyJWKClientError:
        raise OIDCError("invalid_token", _("The identity provider's signing keys could not be read.")) from None
    except jwt.ExpiredSignatureError:
        raise OIDCError("invalid_token", _("The identity provider's answer has expired. Sign in again.")) from None
    except jwt.InvalidTokenError as exc:
        raise OIDCError("invalid_token", _("The identity provider's answer is not valid (%(reason)s).")
                        % {"reason": str(exc)[:200]}) from None
    if idp.kind == IdentityProvider.Kind.MICROSOFT and (idp.microsoft_tenant or "organizations") in MULTI_TENANT:
        # Any work or school account: Microsoft's issuer names the person's own tenant (its tid claim).
        template = settings.FEDERATION_WELL_KNOWN_ISSUERS["microsoft"]
        expected_issuer = template.replace("{tenant}", str(claims.get("tid") or "-")).rstrip("/")
    if str(claims.get("iss", "")).rstrip("/") != expected_issuer:
        raise OIDCError("invalid_token", _("The identity provider's answer comes from another issuer."))
    if not nonce or claims.get("nonce") != nonce:
        raise OIDCError("invalid_token", _("The identity provider's answer does not belong to this sign-in."))
    return claims


def exchange_code(idp: IdentityProvider, *, code: str, pending: dict) -> VerifiedIdentity:
    """Redeem the authorization code at the token endpoint (client secret + PKCE verifier) and check the ID
    token it returns."""
    metadata = fetch_metadata(metadata_url(idp))
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(idp),
            "client_id": idp.client_id, "code_verifier": pending["verifier"]}
    try:
        secret = decrypt_secret(idp.client_secret_encrypted)
    except SecretUnreadable:  # encrypted under a key this deployment no longer has: the admin re-enters it
        raise OIDCError("invalid_client", _("This identity provider's client secret must be entered again by an "
                                            "administrator.")) from None
    try:
        response = requests.post(metadata["token_endpoint"], data=data, auth=(idp.client_id, secret) if secret else None,
                                 timeout=settings.FEDERATION_HTTP_TIMEOUT, headers={"Accept": "application/json"})
        body = response.json()
    except (requests.RequestException, ValueError):
        raise OIDCError("temporarily_unavailable", _("The identity provider could not be reached.")) from None
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        raise OIDCError(str((body or {}).get("error") or "invalid_grant")[:64] if isinstance(body, dict)
                        else "invalid_grant", _("The identity provider did not confirm this sign-in."))
    claims = validate_id_token(body["id_token"], idp=idp, metadata=metadata, nonce=pending["nonce"])
    amr = claims.get("amr") if isinstance(claims.get("amr"), list) else []
    return VerifiedIdentity(
        issuer=str(claims["iss"]).rstrip("/"), subject=str(claims["sub"]), email=str(claims.get("email") or ""),
        email_verified=claims.get("email_verified") is True, name=str(claims.get("name") or "")[:256],
        amr=tuple(str(m) for m in amr if isinstance(m, str)), tenant_id=str(claims.get("tid") or "")[:64],
        claims=claims)
