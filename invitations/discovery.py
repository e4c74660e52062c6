"""Which identity provider a guest redeems (and signs in) with, in Entra's order or the tenant's own.

The order is the tenant's ``invitationRedemptionIdentityProviderConfiguration`` (cross-tenant access
default): its primary providers in their precedence, then the fallback. Entra's by default:

1. ``azureActiveDirectory``: a home tenant on this platform (the address is a member account here), or a
   tenant on a federated deployment (a "partner deployment" identity provider bound to the domain);
2. ``externalFederation``: a SAML 2.0 or OpenID Connect identity provider bound to the address's domain;
3. ``socialIdentityProviders``: Google for gmail.com, Microsoft;
4. the fallback: e-mail one-time passcode (``defaultConfiguredIdp``/``emailOneTimePasscode``) when the
   tenant accepts it, or Microsoft (``microsoftAccount``).

Federated routes come from **resolvers** registered by kind (:func:`register_federated_resolver`):
``resolver(*, tenant, email) -> FederatedRoute | None``. The apps that hold the identity providers'
configuration register theirs at start-up (``InvitationsConfig.ready``), so this module names none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from directory.models import Account, Tenant
from policies.selectors import collaboration_settings_for, redemption_configuration_for


class Provider(StrEnum):
    HOME_TENANT = "home_tenant"  # the address is a member account on this platform: sign in to it
    FEDERATED = "federated"  # an external identity provider (another deployment, SAML, OIDC, Google, Microsoft)
    SOCIAL = "social"  # kept for callers that named it; social providers are FEDERATED routes now
    EMAIL_OTP = "email_otp"  # a one-time passcode sent to the invited address
    NONE = "none"


#: The kinds a route has, and the redemption order's provider type each belongs to.
KINDS = ("deployment", "oidc", "saml", "google", "microsoft")
KINDS_BY_TYPE = {
    "azureActiveDirectory": ("deployment",),
    "externalFederation": ("saml", "oidc"),
    "socialIdentityProviders": ("google", "microsoft"),
}


@dataclass(frozen=True)
class FederatedRoute:
    """Where a person proves the address instead: ``begin_url`` starts the external sign-in and accepts
    ``?next=`` (where to go once signed in, a path on this site)."""

    kind: str  # one of KINDS
    provider_id: str
    label: str
    begin_url: str

    def url_with_next(self, next_url: str) -> str:
        joiner = "&" if "?" in self.begin_url else "?"
        return f"{self.begin_url}{joiner}{urlencode({'next': next_url})}"


Resolver = Callable[..., "FederatedRoute | None"]
_resolvers: dict[str, list[Resolver]] = {}


def register_federated_resolver(resolver: Resolver, *, kind: str) -> None:
    """Add ``resolver(*, tenant, email) -> FederatedRoute | None`` for routes of ``kind`` (one of KINDS)."""
    if kind not in KINDS:
        raise ValueError(f"unknown federated route kind {kind!r}")
    bucket = _resolvers.setdefault(kind, [])
    if resolver not in bucket:
        bucket.append(resolver)


def _resolve(kind: str, *, tenant: Tenant, email: str) -> FederatedRoute | None:
    for resolver in _resolvers.get(kind, ()):
        route = resolver(tenant=tenant, email=email)
        if route is not None:
            return route
    return None


def _has_home_tenant_here(email: str) -> bool:
    account = Account.objects.with_email(email).first()
    return bool(account is not None and account.has_usable_password() and account.tenant_users.filter(
        user_type="Member", deleted_at__isnull=True).exists())


@dataclass(frozen=True)
class Discovery:
    provider: Provider
    route: FederatedRoute | None = None


def discover(*, tenant: Tenant, email: str) -> Discovery:
    """Walk the tenant's redemption order for ``email``: the first provider that can prove it wins."""
    configuration = redemption_configuration_for(tenant)
    for provider_type in configuration["primaryIdentityProviderPrecedenceOrder"]:
        if provider_type == "azureActiveDirectory" and _has_home_tenant_here(email):
            return Discovery(Provider.HOME_TENANT)
        for kind in KINDS_BY_TYPE.get(provider_type, ()):
            route = _resolve(kind, tenant=tenant, email=email)
            if route is not None:
                return Discovery(Provider.FEDERATED, route)
    fallback = configuration["fallbackIdentityProvider"]
    if fallback == "microsoftAccount":
        route = _resolve("microsoft", tenant=tenant, email=email)
        if route is not None:
            return Discovery(Provider.FEDERATED, route)
    if collaboration_settings_for(tenant).email_otp_enabled:
        return Discovery(Provider.EMAIL_OTP)
    return Discovery(Provider.NONE)


def federated_provider_for(*, tenant: Tenant, email: str) -> FederatedRoute | None:
    """The external identity provider ``email`` redeems with in ``tenant``, or None (a home account here,
    an e-mailed code, or nothing)."""
    return discover(tenant=tenant, email=email).route


def discover_provider(*, tenant: Tenant, email: str) -> Provider:
    return discover(tenant=tenant, email=email).provider
