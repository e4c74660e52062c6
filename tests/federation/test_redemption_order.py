"""invitations.discovery: the redemption order walks the registered federated resolvers."""

import pytest

from directory.actors import Actor
from invitations import discovery, services
from invitations.discovery import FederatedRoute, Provider, discover, federated_provider_for
from policies import services as policy_services
from tests.factories import UserFactory, admin_of

pytestmark = pytest.mark.django_db


def route(kind: str) -> FederatedRoute:
    return FederatedRoute(kind=kind, provider_id=f"{kind}-1", label=kind.title(), begin_url=f"/federation/{kind}/begin")


@pytest.fixture
def resolvers(monkeypatch):
    """Resolvers that answer for one domain each: proseware.example → every kind listed in ``answers``."""
    monkeypatch.setattr(discovery, "_resolvers", {})
    answers: set[str] = set()

    def make(kind):
        def resolver(*, tenant, email):
            return route(kind) if kind in answers and email.endswith("@proseware.example") else None
        return resolver

    for kind in discovery.KINDS:
        discovery.register_federated_resolver(make(kind), kind=kind)
    return answers


def set_order(tenant, primary, fallback="defaultConfiguredIdp"):
    policy_services.cross_tenant_default_update(
        actor=Actor.for_user(admin_of(tenant)), tenant=tenant, changes={
            "invitationRedemptionIdentityProviderConfiguration": {
                "primaryIdentityProviderPrecedenceOrder": primary, "fallbackIdentityProvider": fallback}})


def test_entras_order_prefers_a_partner_deployment_to_a_domain_idp_to_google(tenant, resolvers):
    resolvers.update({"google", "oidc", "deployment"})
    assert federated_provider_for(tenant=tenant, email="ann@proseware.example").kind == "deployment"
    resolvers.discard("deployment")
    assert federated_provider_for(tenant=tenant, email="ann@proseware.example").kind == "oidc"
    resolvers.discard("oidc")
    assert federated_provider_for(tenant=tenant, email="ann@proseware.example").kind == "google"


def test_saml_comes_before_oidc_within_external_federation(tenant, resolvers):
    resolvers.update({"oidc", "saml"})
    assert federated_provider_for(tenant=tenant, email="ann@proseware.example").kind == "saml"


def test_a_home_account_here_wins_where_azure_active_directory_comes_first(tenant, resolvers):
    UserFactory(user_principal_name="bob@proseware.example")
    resolvers.add("oidc")
    assert discover(tenant=tenant, email="bob@proseware.example").provider == Provider.HOME_TENANT


def test_the_tenants_order_puts_external_federation_first(tenant, resolvers):
    UserFactory(user_principal_name="bob@proseware.example")
    resolvers.add("oidc")
    set_order(tenant, ["externalFederation", "azureActiveDirectory", "socialIdentityProviders"])
    assert discover(tenant=tenant, email="bob@proseware.example").route.kind == "oidc"


def test_a_provider_type_left_out_of_the_order_is_not_used(tenant, resolvers):
    resolvers.add("google")
    set_order(tenant, ["azureActiveDirectory", "externalFederation"])
    assert discover(tenant=tenant, email="ann@proseware.example").provider == Provider.EMAIL_OTP


def test_the_microsoft_account_fallback_uses_a_microsoft_route(tenant, resolvers):
    resolvers.add("microsoft")
    set_order(tenant, ["azureActiveDirectory"], fallback="microsoftAccount")
    assert discover(tenant=tenant, email="ann@proseware.example").route.kind == "microsoft"


def test_no_route_falls_back_to_the_emailed_code(tenant, resolvers):
    assert discover(tenant=tenant, email="ann@elsewhere.example").provider == Provider.EMAIL_OTP


def test_redemption_starts_at_the_routes_begin_url_with_consent_as_next(client, tenant, resolvers):
    resolvers.add("oidc")
    result = services.invitation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant,
                                        email="ann@proseware.example", redirect_url="https://tailwind.example/")
    start = client.post("/" + result.redeem_url.split("/", 3)[3])
    assert start.status_code == 302
    assert start["Location"] == "/federation/oidc/begin?next=%2Ft%2Ftailwind%2Finvitations%2Faccept%2F"


def test_the_tenants_sign_in_page_sends_a_federated_domain_to_its_provider(client, tenant, resolvers):
    resolvers.add("deployment")
    response = client.post("/t/tailwind/sign-in/?next=/t/tailwind/", {"email": "carl@proseware.example"})
    assert response.status_code == 302 and response["Location"] == "/federation/deployment/begin?next=%2Ft%2Ftailwind%2F"
