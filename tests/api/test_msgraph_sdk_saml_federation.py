"""The official msgraph-sdk creates, reads, changes and deletes a SAML/WS-Fed domain federation against a
live server of ours (``client.directory.federation_configurations``)."""

import asyncio

import pytest
from msgraph.generated.models.external_domain_name import ExternalDomainName
from msgraph.generated.models.saml_or_ws_fed_external_domain_federation import SamlOrWsFedExternalDomainFederation

from policies.models import ExternalDomainFederation
from tests.api.test_msgraph_sdk import graph  # noqa: F401  (the fixture)
from tests.factories import TenantFactory
from tests.support.saml_idp import certificate_base64, make_key_and_certificate

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions")]


def test_the_sdk_manages_a_saml_federation(graph, transactional_db):  # noqa: F811
    tenant = TenantFactory(name="Contoso", slug="contoso", initial_domain="contoso.example")
    client, _ = graph(tenant, ["IdentityProvider.ReadWrite.All"])
    certificate = certificate_base64(make_key_and_certificate()[1])
    configurations = client.directory.federation_configurations

    async def run():
        created = await configurations.post(SamlOrWsFedExternalDomainFederation(
            display_name="Fabrikam", issuer_uri="https://sts.fabrikam.example/adfs/services/trust",
            passive_sign_in_uri="https://sts.fabrikam.example/adfs/ls/", signing_certificate=certificate,
            domains=[ExternalDomainName(id="fabrikam.example")]))
        listed = await configurations.get()
        await configurations.by_identity_provider_base_id(created.id).patch(
            SamlOrWsFedExternalDomainFederation(display_name="Fabrikam AD FS"))
        read = await configurations.by_identity_provider_base_id(created.id).get()
        await configurations.by_identity_provider_base_id(created.id).delete()
        return created, listed, read

    created, listed, read = asyncio.run(run())
    assert isinstance(created, SamlOrWsFedExternalDomainFederation) and created.signing_certificate == certificate
    assert [c.id for c in listed.value] == [created.id]
    assert isinstance(read, SamlOrWsFedExternalDomainFederation) and read.display_name == "Fabrikam AD FS"
    assert not ExternalDomainFederation.objects.exists()
