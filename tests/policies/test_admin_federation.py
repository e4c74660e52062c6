"""SAML/WS-Fed identity providers in the admin console: added from the partner's metadata or by hand
(certificate pasted or uploaded), edited (domains added and removed), deleted, all through the services;
the SP metadata URL shown to copy; only for who may manage identity providers, each tenant its own."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from directory.models import AuditEvent, Role
from policies.models import ExternalDomainFederation
from tests.factories import TenantFactory, admin_of
from tests.support.saml_idp import SamlIdp, make_key_and_certificate

pytestmark = pytest.mark.django_db
ADD = reverse("admin:policies_externaldomainfederation_add")


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind")


def test_an_admin_adds_a_partner_idp_from_its_metadata_and_sees_what_to_give_the_partner(client, tenant):
    idp = SamlIdp()
    client.force_login(admin_of(tenant).account)
    response = client.post(ADD, {"tenant": tenant.pk, "display_name": "Fabrikam",
                                 "preferred_authentication_protocol": "saml",
                                 "domains_text": "fabrikam.example\nfabrikam-eu.example", "metadata_xml": idp.metadata()})
    assert response.status_code == 302, response.context["adminform"].form.errors
    federation = ExternalDomainFederation.objects.get(tenant=tenant)
    assert (federation.issuer_uri, federation.passive_sign_in_uri, federation.signing_certificate) == (
        idp.entity_id, idp.sso_url, idp.certificate)
    assert sorted(federation.domains.values_list("name", flat=True)) == ["fabrikam-eu.example", "fabrikam.example"]
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Add SAML/WS-Fed identity provider").exists()
    page = client.get(reverse("admin:policies_externaldomainfederation_change", args=[federation.pk])).content.decode()
    assert f"/t/tailwind/saml/{federation.pk}/metadata/" in page and f"/t/tailwind/saml/{federation.pk}/acs/" in page
    assert "Give these to the partner" in page and "Test SAML IdP" in page  # the certificate's subject


def test_an_uploaded_certificate_file_is_taken(client, tenant):
    client.force_login(admin_of(tenant).account)
    pem = make_key_and_certificate()[1]
    response = client.post(ADD, {"tenant": tenant.pk, "display_name": "Fabrikam",
                                 "preferred_authentication_protocol": "saml",
                                 "domains_text": "fabrikam.example", "issuer_uri": "urn:fabrikam:idp",
                                 "passive_sign_in_uri": "https://sts.fabrikam.example/ls",
                                 "certificate_file": SimpleUploadedFile("idp.pem", pem)})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert ExternalDomainFederation.objects.get().signing_certificate in pem.decode().replace("\n", "")


@pytest.mark.parametrize(("fields", "message"), [
    ({"metadata_xml": "<not-metadata/>"}, "The metadata names no entity ID"),
    ({"domains_text": "gmail.com"}, "public mail domain"),
    ({"signing_certificate": "garbage"}, "X.509"),
    ({"passive_sign_in_uri": "http://sts.fabrikam.example/ls"}, "https://"),
    ({"issuer_uri": ""}, "paste the partner"),
])
def test_mistakes_are_shown_on_the_form_and_nothing_is_saved(client, tenant, fields, message):
    idp = SamlIdp()
    client.force_login(admin_of(tenant).account)
    data = {"tenant": tenant.pk, "display_name": "Fabrikam", "preferred_authentication_protocol": "saml",
            "domains_text": "fabrikam.example", "issuer_uri": idp.entity_id, "passive_sign_in_uri": idp.sso_url,
            "signing_certificate": idp.certificate, **fields}
    response = client.post(ADD, data)
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors), response.context["adminform"].form.errors
    assert not ExternalDomainFederation.objects.exists()


def test_editing_adds_and_removes_domains_through_the_services_and_delete_goes_too(client, tenant):
    idp = SamlIdp()
    client.force_login(admin_of(tenant).account)
    client.post(ADD, {"tenant": tenant.pk, "display_name": "Fabrikam", "preferred_authentication_protocol": "saml",
                      "domains_text": "fabrikam.example", "metadata_xml": idp.metadata()})
    federation = ExternalDomainFederation.objects.get()
    url = reverse("admin:policies_externaldomainfederation_change", args=[federation.pk])
    response = client.post(url, {"display_name": "Fabrikam IdP", "preferred_authentication_protocol": "saml",
                                 "domains_text": "fabrikam-us.example", "issuer_uri": federation.issuer_uri,
                                 "passive_sign_in_uri": federation.passive_sign_in_uri,
                                 "signing_certificate": federation.signing_certificate})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(federation.domains.values_list("name", flat=True)) == ["fabrikam-us.example"]
    activities = set(AuditEvent.objects.filter(tenant=tenant).values_list("activity_display_name", flat=True))
    assert {"Update SAML/WS-Fed identity provider", "Add domain to SAML/WS-Fed identity provider",
            "Remove domain from SAML/WS-Fed identity provider"} <= activities
    delete = reverse("admin:policies_externaldomainfederation_delete", args=[federation.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not ExternalDomainFederation.objects.exists()
    assert AuditEvent.objects.filter(activity_display_name="Delete SAML/WS-Fed identity provider").exists()


def test_only_identity_provider_managers_reach_it_and_each_tenant_sees_its_own(client, tenant):
    other = TenantFactory()
    idp = SamlIdp()
    client.force_login(admin_of(other).account)
    client.post(ADD, {"tenant": other.pk, "display_name": "Other's", "preferred_authentication_protocol": "saml",
                      "domains_text": "fabrikam.example", "metadata_xml": idp.metadata()})
    theirs = ExternalDomainFederation.objects.get()
    client.force_login(admin_of(tenant).account)
    listing = client.get(reverse("admin:policies_externaldomainfederation_changelist"))
    assert listing.status_code == 200 and "Other&#x27;s" not in listing.content.decode()
    assert client.get(reverse("admin:policies_externaldomainfederation_change", args=[theirs.pk])).status_code in (302, 404)
    client.force_login(admin_of(tenant, Role.USER_ADMINISTRATOR).account)
    assert client.get(ADD).status_code == 403


def test_the_list_runs_the_same_queries_for_one_configuration_or_many(client, tenant, django_assert_num_queries):
    from directory.actors import Actor
    from policies import services
    from tests.support.saml_idp import certificate_base64

    admin = admin_of(tenant)
    client.force_login(admin.account)
    url = reverse("admin:policies_externaldomainfederation_changelist")

    def add(n):
        services.saml_federation_create(
            actor=Actor.for_user(admin), tenant=tenant, domains=[{"id": f"partner{n}.example"}, {"id": f"p{n}.example"}],
            data={"displayName": f"Partner {n}", "issuerUri": f"urn:partner:{n}", "passiveSignInUri": "https://idp.example/",
                  "signingCertificate": certificate_base64(make_key_and_certificate()[1])})

    add(0)
    client.get(url)  # warm the session and caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for n in range(1, 6):
        add(n)
    with django_assert_num_queries(len(one.captured_queries)):
        assert "Partner 5" in client.get(url).content.decode()
