"""SAML/WS-Fed domain federation: Entra's rules for a configuration and its domains, authorization, audit,
metadata parsing, and each tenant seeing only its own."""

import pytest
from django.core.exceptions import PermissionDenied

from directory.actors import Actor
from directory.models import AuditEvent, Domain, Role
from policies import services
from policies.domain_federation import FederationInvalid, parse_idp_metadata
from policies.models import ExternalDomainFederation
from policies.selectors import saml_federation_for_email, saml_federations_visible_to
from tests.factories import TenantFactory, UserFactory, admin_of
from tests.support.saml_idp import SamlIdp, certificate_base64, make_key_and_certificate

pytestmark = pytest.mark.django_db

CERT = certificate_base64(make_key_and_certificate()[1])


def data(**overrides) -> dict:
    return {"displayName": "Fabrikam ADFS", "issuerUri": "https://sts.fabrikam.example/adfs/services/trust",
            "passiveSignInUri": "https://sts.fabrikam.example/adfs/ls/", "preferredAuthenticationProtocol": "saml",
            "signingCertificate": CERT, **overrides}


def create(tenant, domains=("fabrikam.example",), **overrides):
    return services.saml_federation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, data=data(**overrides),
                                           domains=[{"id": d} for d in domains])


def test_a_global_administrator_federates_a_partner_domain_and_it_is_audited():
    tenant = TenantFactory()
    federation = create(tenant, domains=("Fabrikam.Example",))
    assert federation.signing_certificate == CERT
    assert list(federation.domains.values_list("name", flat=True)) == ["fabrikam.example"]
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Add SAML/WS-Fed identity provider")
    assert event.category == "DirectoryManagement"
    assert CERT not in str(event.target_resources)  # the certificate is not copied into the log


def test_the_certificate_may_be_pasted_as_pem():
    pem = make_key_and_certificate()[1].decode()
    federation = create(TenantFactory(), signingCertificate=pem)
    assert "BEGIN" not in federation.signing_certificate and "\n" not in federation.signing_certificate


@pytest.mark.parametrize(("overrides", "words"), [
    ({"passiveSignInUri": "http://sts.fabrikam.example/adfs/ls/"}, "https://"),
    ({"signingCertificate": "bm90IGEgY2VydA=="}, "X.509"),
    ({"signingCertificate": "%%%"}, "X.509"),
    ({"issuerUri": "not a uri"}, "URI"),
    ({"displayName": "Fab\x00rikam"}, "NUL"),
    ({"preferredAuthenticationProtocol": "oidc"}, "saml or wsFed"),
    ({"metadataExchangeUri": "ftp://x.example/m"}, "https://"),
])
def test_bad_properties_are_refused_with_a_message(overrides, words):
    with pytest.raises(FederationInvalid) as caught:
        create(TenantFactory(), **overrides)
    assert words in caught.value.messages[0]
    assert not ExternalDomainFederation.objects.exists()


@pytest.mark.parametrize("domain", ["gmail.com", "mail.yahoo.com", "not a domain", ""])
def test_public_mail_and_malformed_domains_are_never_federated(domain):
    with pytest.raises(FederationInvalid):
        create(TenantFactory(), domains=(domain,))


def test_a_domain_the_tenant_verified_itself_is_not_federated_nor_below_it():
    tenant = TenantFactory()
    Domain.objects.create(tenant=tenant, name="contoso.example", is_verified=True)
    for domain in ("contoso.example", "eu.contoso.example"):
        with pytest.raises(FederationInvalid, match="verified by this organization"):
            create(tenant, domains=(domain,))


def test_a_domain_of_another_organization_on_this_platform_is_not_federated():
    """Stricter than Entra, as for every identity provider here: one tenant's IdP never speaks for another
    organization's people (verified, initial, or below a verified domain)."""
    tenant, other = TenantFactory(), TenantFactory(initial_domain="other-initial.example")
    Domain.objects.create(tenant=other, name="fabrikam.example", is_verified=True)
    Domain.objects.create(tenant=other, name="unverified.example", is_verified=False)
    for domain in ("fabrikam.example", "eu.fabrikam.example", "other-initial.example"):
        with pytest.raises(FederationInvalid, match="belongs to an organization on this platform"):
            create(tenant, domains=(domain,))
    assert create(tenant, domains=("unverified.example",)).domains.count() == 1


def test_a_domain_is_federated_by_one_configuration_per_tenant_but_other_tenants_may_too():
    tenant = TenantFactory()
    first = create(tenant)
    with pytest.raises(FederationInvalid, match="already federated"):
        create(tenant, issuerUri="https://other.example/idp")
    with pytest.raises(FederationInvalid, match="already federated"):
        services.saml_federation_domain_add(actor=Actor.for_user(admin_of(tenant)), federation=first,
                                           name="fabrikam.example")
    assert create(TenantFactory()).domains.count() == 1


def test_creation_needs_a_domain_and_the_last_domain_stays():
    tenant = TenantFactory()
    with pytest.raises(FederationInvalid, match="at least one domain"):
        create(tenant, domains=())
    federation = create(tenant)
    actor = Actor.for_user(admin_of(tenant))
    added = services.saml_federation_domain_add(actor=actor, federation=federation, name="fabrikam-eu.example")
    services.saml_federation_domain_remove(actor=actor, domain=added)
    with pytest.raises(FederationInvalid, match="at least one domain"):
        services.saml_federation_domain_remove(actor=actor, domain=federation.domains.get())
    activities = set(AuditEvent.objects.filter(tenant=tenant).values_list("activity_display_name", flat=True))
    assert {"Add domain to SAML/WS-Fed identity provider", "Remove domain from SAML/WS-Fed identity provider"} <= activities


def test_update_audits_what_changed_and_delete_removes_the_domains():
    tenant = TenantFactory()
    federation = create(tenant)
    actor = Actor.for_user(admin_of(tenant))
    services.saml_federation_update(actor=actor, federation=federation, changes={"displayName": "Fabrikam"})
    federation.refresh_from_db()
    assert federation.display_name == "Fabrikam" and federation.modified_at is not None
    services.saml_federation_delete(actor=actor, federation=federation)
    assert saml_federation_for_email(tenant=tenant, email="ann@fabrikam.example") is None
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Delete SAML/WS-Fed identity provider").exists()


@pytest.mark.parametrize("role", [None, Role.USER_ADMINISTRATOR, Role.APPLICATION_ADMINISTRATOR])
def test_only_who_holds_identity_provider_write_may_federate(role):
    tenant = TenantFactory()
    user = admin_of(tenant, role) if role else UserFactory(tenant=tenant)
    with pytest.raises(PermissionDenied):
        services.saml_federation_create(actor=Actor.for_user(user), tenant=tenant, data=data(),
                                        domains=[{"id": "fabrikam.example"}])


def test_a_security_administrator_may_federate():
    tenant = TenantFactory()
    actor = Actor.for_user(admin_of(tenant, Role.SECURITY_ADMINISTRATOR))
    assert services.saml_federation_create(actor=actor, tenant=tenant, data=data(), domains=[{"id": "fabrikam.example"}])


def test_each_tenant_sees_only_its_own_configurations():
    mine, other = TenantFactory(), TenantFactory()
    own = create(mine)
    create(other)
    assert list(saml_federations_visible_to(Actor.for_user(admin_of(mine)))) == [own]
    assert not saml_federations_visible_to(Actor.for_user(UserFactory(tenant=mine))).exists()
    assert saml_federation_for_email(tenant=mine, email="Ann@FABRIKAM.example") == own
    assert saml_federation_for_email(tenant=mine, email="ann@sub.fabrikam.example") is None


def test_a_partners_metadata_document_fills_issuer_endpoint_and_certificate():
    idp = SamlIdp()
    parsed = parse_idp_metadata(idp.metadata())
    assert parsed.issuer_uri == idp.entity_id
    assert parsed.passive_sign_in_uri == idp.sso_url
    assert parsed.signing_certificate == idp.certificate


@pytest.mark.parametrize("document", [
    "", "<x/>", "not xml at all", "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "<a>" + "x" * 300_000 + "</a>",
    "<EntityDescriptor\x00/>",
])
def test_documents_that_are_not_usable_metadata_are_refused_with_a_message(document):
    with pytest.raises(FederationInvalid):
        parse_idp_metadata(document)
