"""The cross-tenant access settings in the admin console: Entra's default and organizational settings pages
with inbound and outbound tabs, saving through the services."""

import pytest
from django.urls import reverse

from directory.models import AuditEvent, Role
from policies.models import CrossTenantAccessDefault, CrossTenantAccessPartner
from policies.models.cross_tenant import b2b_setting
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


def _form(response) -> dict:
    """The form's current values, as a browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


def test_default_settings_page_reads_like_entra_and_saves_through_the_service(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant, Role.SECURITY_ADMINISTRATOR).account)
    default = CrossTenantAccessDefault.objects.get(tenant=tenant)
    url = reverse("admin:policies_crosstenantaccessdefault_change", args=[default.pk])
    page = client.get(url)
    html = page.content.decode()
    for text in ("Inbound access", "Outbound access", "All external users and groups", "Allow access",
                 "Trust multifactor authentication", "Redemption order"):
        assert text in html
    data = _form(page)
    data.update(outbound_users_access="blocked", outbound_apps_access="blocked", trust_mfa="on")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    default.refresh_from_db()
    assert default.b2b_collaboration_outbound == b2b_setting("blocked")
    assert default.inbound_trust["isMfaAccepted"] and not default.is_service_default
    assert AuditEvent.objects.filter(tenant=tenant, category="CrossTenantAccessSettings").count() == 1


def test_blocking_all_users_but_not_all_apps_shows_entras_rule(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    default = CrossTenantAccessDefault.objects.get(tenant=tenant)
    url = reverse("admin:policies_crosstenantaccessdefault_change", args=[default.pk])
    data = _form(client.get(url))
    data.update(outbound_users_access="blocked")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "requires blocking all applications" in response.content.decode()


def test_adding_an_organization_inherits_until_customized(client):
    tenant, partner = TenantFactory(), TenantFactory(name="Proseware")
    client.force_login(admin_of(tenant).account)
    add = reverse("admin:policies_crosstenantaccesspartner_add")
    data = _form(client.get(add))
    data.update(tenant=str(tenant.pk), partner_tenant_id=str(partner.pk), inbound_mode="customize",
                inbound_users_scope="selected", inbound_group_ids="0c7a1c5e-0000-4000-8000-000000000001",
                auto_redeem_inbound="on")
    response = client.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = CrossTenantAccessPartner.objects.get(tenant=tenant)
    assert row.b2b_collaboration_inbound["usersAndGroups"]["targets"] == [
        {"target": "0c7a1c5e-0000-4000-8000-000000000001", "targetType": "group"}]
    assert row.b2b_collaboration_outbound is None and row.inbound_trust is None
    assert row.automatic_user_consent_settings == {"inboundAllowed": True, "outboundAllowed": False}
    listing = client.get(reverse("admin:policies_crosstenantaccesspartner_changelist")).content.decode()
    assert "Proseware" in listing and "Inherited from default" in listing


def test_another_tenants_settings_are_not_found_and_user_admins_only_read(client):
    tenant, other = TenantFactory(), TenantFactory()
    client.force_login(admin_of(tenant, Role.USER_ADMINISTRATOR).account)
    mine = CrossTenantAccessDefault.objects.get(tenant=tenant)
    theirs = CrossTenantAccessDefault.objects.get(tenant=other)
    assert client.get(reverse("admin:policies_crosstenantaccessdefault_change", args=[theirs.pk])).status_code in (
        302, 404)
    url = reverse("admin:policies_crosstenantaccessdefault_change", args=[mine.pk])
    response = client.post(url, {"outbound_users_access": "blocked"})
    assert response.status_code in (403, 200)
    assert CrossTenantAccessDefault.objects.get(pk=mine.pk).is_service_default
