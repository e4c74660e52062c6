"""The official msgraph-sdk lists, creates, reads, patches and deletes identity providers against a live
server of ours (only the base URL changed). Our extension fields (``domains``) travel as additional data."""

import asyncio

import pytest
from msgraph.generated.models.built_in_identity_provider import BuiltInIdentityProvider
from msgraph.generated.models.oidc_client_secret_authentication import OidcClientSecretAuthentication
from msgraph.generated.models.oidc_identity_provider import OidcIdentityProvider
from msgraph.generated.models.oidc_response_type import OidcResponseType
from msgraph.generated.models.social_identity_provider import SocialIdentityProvider

from policies.federation.secrets import decrypt_secret
from policies.models import IdentityProvider
from tests.api.test_msgraph_sdk import graph  # noqa: F401  (the fixture)
from tests.factories import TenantFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


@pytest.mark.django_db(transaction=True)
def test_the_sdk_manages_identity_providers(graph):  # noqa: F811
    tenant = TenantFactory()
    client, _adapter = graph(tenant, ["IdentityProvider.ReadWrite.All"])
    providers = client.identity.identity_providers

    async def run():
        google = await providers.post(SocialIdentityProvider(
            display_name="Google", identity_provider_type="Google", client_id="g-client", client_secret="g-secret"))
        oidc = await providers.post(OidcIdentityProvider(
            display_name="Proseware SSO", client_id="portal", response_type=OidcResponseType.Code,
            well_known_endpoint="https://login.proseware.example/.well-known/openid-configuration",
            client_authentication=OidcClientSecretAuthentication(client_secret="o-secret"),
            additional_data={"domains": ["proseware.example"]}))
        await providers.by_identity_provider_base_id(oidc.id).patch(OidcIdentityProvider(display_name="Proseware"))
        listed = await providers.get()
        read = await providers.by_identity_provider_base_id(oidc.id).get()
        await providers.by_identity_provider_base_id(google.id).delete()
        return google, oidc, listed, read

    google, oidc, listed, read = asyncio.run(run())
    assert isinstance(google, SocialIdentityProvider) and google.client_secret == "******"
    assert isinstance(oidc, OidcIdentityProvider) and oidc.client_authentication.client_secret == "******"
    assert isinstance(listed.value[0], BuiltInIdentityProvider) and listed.value[0].identity_provider_type == "EmailOTP"
    assert {type(p) for p in listed.value[1:]} == {SocialIdentityProvider, OidcIdentityProvider}
    assert isinstance(read, OidcIdentityProvider) and read.display_name == "Proseware"
    assert read.well_known_endpoint.endswith("/openid-configuration")
    stored = IdentityProvider.objects.get(tenant=tenant)
    assert stored.domains == ["proseware.example"] and decrypt_secret(stored.client_secret_encrypted) == "o-secret"
