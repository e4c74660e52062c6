"""The redemption order's federated routes for the identity providers ``policies`` keeps per tenant
(registered in ``InvitationsConfig.ready``): an address whose domain an identity provider names goes there."""

from __future__ import annotations

from django.urls import reverse

from policies.selectors import identity_provider_for_email

from .discovery import FederatedRoute, register_federated_resolver


def _resolver(kind: str):
    def resolve(*, tenant, email) -> FederatedRoute | None:
        idp = identity_provider_for_email(tenant=tenant, email=email, kind=kind)
        if idp is None:
            return None
        return FederatedRoute(kind=kind, provider_id=str(idp.pk), label=idp.display_name,
                              begin_url=reverse("policies:federation_begin", args=[tenant.slug, idp.pk]))
    resolve.__name__ = f"{kind}_identity_provider_route"
    return resolve


RESOLVERS = {kind: _resolver(kind) for kind in ("deployment", "oidc", "google", "microsoft")}


def register() -> None:
    for kind, resolver in RESOLVERS.items():
        register_federated_resolver(resolver, kind=kind)
