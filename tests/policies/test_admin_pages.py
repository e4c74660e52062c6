"""Settings pages in the admin console: they open directly, radio choices are readable, the domain box
has no example values in it; the tenant page shows the real web address and the initial domain."""

import pytest
from django.urls import reverse

from policies.models import CollaborationSettings
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def home():
    return TenantFactory(name="Home Co", slug="homeco", initial_domain="homeco.example")


@pytest.fixture
def admin_client(client, home):
    client.force_login(admin_of(home).account)
    return client


def test_collaboration_settings_open_directly_for_a_tenant_admin(admin_client, home):
    settings = CollaborationSettings.objects.get(tenant=home)
    response = admin_client.get(reverse("admin:policies_collaborationsettings_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:policies_collaborationsettings_change", args=[settings.pk])


def test_settings_radios_are_readable_and_the_domain_box_has_no_placeholder(admin_client, home):
    settings = CollaborationSettings.objects.get(tenant=home)
    body = admin_client.get(reverse("admin:policies_collaborationsettings_change", args=[settings.pk])).content.decode()
    assert body.count('class="readable-radios"') >= 3
    domains = body.split('name="domains"', 1)[1].split(">", 1)[0]
    assert "placeholder" not in domains
    assert "for example contoso.com" in body


def test_tenant_page_shows_the_real_web_address_and_the_initial_domain(admin_client, home):
    body = admin_client.get(reverse("admin:directory_tenant_change", args=[home.pk])).content.decode()
    assert "<code>/t/homeco/</code>" in body
    assert "/t//" not in body
    row = body.split('id="initial-domain-row"', 1)[1].split("</tr>", 1)[0]
    assert "homeco.example" in row


def test_operator_sees_the_real_web_address_under_the_editable_short_name(client, home):
    operator = admin_of(home).account
    operator.is_superuser = True
    operator.save(update_fields=["is_superuser"])
    client.force_login(operator)
    body = client.get(reverse("admin:directory_tenant_change", args=[home.pk])).content.decode()
    assert 'name="slug"' in body and "<code>/t/homeco/</code>" in body
