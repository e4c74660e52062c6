"""Identity providers in the admin console: add, edit (the secret write-only), delete, through the services;
each tenant's admins see only their own."""

import pytest
from django.urls import reverse

from directory.models import AuditEvent
from policies.federation.secrets import decrypt_secret
from policies.models import IdentityProvider
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db
ADD = "admin:policies_identityprovider_add"


@pytest.fixture
def home():
    return TenantFactory(name="Tailwind", slug="tailwind", initial_domain="tailwind.example")


@pytest.fixture
def admin_client(client, home):
    client.force_login(admin_of(home).account)
    return client


def _add(admin_client, home, **overrides):
    data = {"tenant": str(home.pk), "kind": "deployment", "display_name": "Proseware", "client_id": "abc",
            "client_secret": "s3cret-value", "issuer": "https://portal.proseware.example",
            "domain_list": "proseware.example, proseware.dev", "scope": "openid email profile", **overrides}
    return admin_client.post(reverse(ADD), data)


def test_an_admin_adds_a_partner_deployment_with_an_encrypted_secret(admin_client, home):
    response = _add(admin_client, home)
    assert response.status_code == 302, response.content.decode()[:2000]
    idp = IdentityProvider.objects.get(tenant=home)
    assert idp.domains == ["proseware.example", "proseware.dev"] and idp.issuer == "https://portal.proseware.example"
    assert decrypt_secret(idp.client_secret_encrypted) == "s3cret-value"
    assert AuditEvent.objects.filter(tenant=home, activity_display_name="Add identity provider").exists()


def test_the_edit_page_never_shows_the_secret_and_keeps_it_when_left_empty(admin_client, home):
    _add(admin_client, home)
    idp = IdentityProvider.objects.get(tenant=home)
    url = reverse("admin:policies_identityprovider_change", args=[idp.pk])
    page = admin_client.get(url).content.decode()
    assert "s3cret-value" not in page and idp.client_secret_encrypted not in page
    assert "/t/tailwind/federation/callback/" in page  # the redirect URI to register at the provider
    response = admin_client.post(url, {"display_name": "Proseware Corp", "client_id": "abc", "client_secret": "",
                                       "issuer": "https://portal.proseware.example", "domain_list": "proseware.example"})
    assert response.status_code == 302
    idp.refresh_from_db()
    assert idp.display_name == "Proseware Corp" and decrypt_secret(idp.client_secret_encrypted) == "s3cret-value"


def test_a_bad_value_is_shown_on_the_form_and_nothing_is_saved(admin_client, home):
    response = _add(admin_client, home, issuer="ftp://nope.example")
    assert response.status_code == 200 and "https:// URL" in response.content.decode()
    assert not IdentityProvider.objects.exists()


def test_another_tenants_admin_sees_none_of_them(client, admin_client, home):
    _add(admin_client, home)
    other = TenantFactory()
    client.force_login(admin_of(other).account)
    idp = IdentityProvider.objects.get(tenant=home)
    assert "Proseware" not in client.get(reverse("admin:policies_identityprovider_changelist")).content.decode()
    assert client.get(reverse("admin:policies_identityprovider_change", args=[idp.pk])).status_code in (302, 404)


def test_deleting_goes_through_the_service(admin_client, home):
    _add(admin_client, home)
    idp = IdentityProvider.objects.get(tenant=home)
    response = admin_client.post(reverse("admin:policies_identityprovider_delete", args=[idp.pk]), {"post": "yes"})
    assert response.status_code == 302 and not IdentityProvider.objects.exists()
    assert AuditEvent.objects.filter(tenant=home, activity_display_name="Delete identity provider").exists()
