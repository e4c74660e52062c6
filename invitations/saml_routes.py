"""The SAML/WS-Fed domain federation's place in redemption and sign-in: a resolver of kind "saml" for
``discovery.register_federated_resolver`` (registered in ``InvitationsConfig.ready``). It routes an address
whose domain one of the tenant's configurations federates to that IdP's start page
(``policies.saml``); the order among resolvers and fallbacks is the discovery's."""

from __future__ import annotations

from directory.models import Tenant
from policies.models import ExternalDomainFederation
from policies.saml import begin_url
from policies.selectors import saml_federation_for_email

from .discovery import FederatedRoute


def saml_route(*, tenant: Tenant, email: str) -> FederatedRoute | None:
    federation = saml_federation_for_email(tenant=tenant, email=email)
    # WS-Fed sign-in is not spoken here yet: such a domain falls through to the next provider.
    if federation is None or federation.preferred_authentication_protocol != ExternalDomainFederation.Protocol.SAML:
        return None
    federation.tenant = tenant  # begin_url names the tenant: no second query
    return FederatedRoute(kind="saml", provider_id=str(federation.pk), label=federation.display_name,
                          begin_url=begin_url(federation))
