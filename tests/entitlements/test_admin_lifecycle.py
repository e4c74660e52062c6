"""The external-user lifecycle in the admin console: the tenant's settings (through the service, checked by
its rule) and where a guest stands on their user page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from directory.actors import Actor
from directory.models import AuditEvent, Role
from entitlements import services
from entitlements.models import EntitlementSettings, ExternalUserLifecycle
from tests.factories import AccountFactory, GuestFactory, TenantFactory, admin_of

pytestmark = pytest.mark.django_db


def _console(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def test_an_identity_governance_administrator_sets_the_lifecycle_in_days_audited():
    tenant = TenantFactory()
    client = _console(admin_of(tenant, Role.IDENTITY_GOVERNANCE_ADMINISTRATOR))
    response = client.post(reverse("admin:entitlements_entitlementsettings_add"), {
        "tenant": str(tenant.pk), "external_user_lifecycle_action": "blockSignInAndDelete",
        "days_before_removal": "14"})
    assert response.status_code == 302, response.content.decode()[:3000]
    settings = EntitlementSettings.objects.get(tenant=tenant)
    assert settings.duration_until_external_user_deleted_after_blocked == timedelta(days=14)
    assert AuditEvent.objects.filter(activity_display_name="Update entitlement management settings").exists()
    response = client.post(reverse("admin:entitlements_entitlementsettings_change", args=[tenant.pk]), {
        "external_user_lifecycle_action": "blockSignIn", "days_before_removal": "14"})
    assert response.status_code == 302
    settings.refresh_from_db()
    assert settings.external_user_lifecycle_action == "blockSignIn"


@pytest.mark.parametrize("days", ["-1", "4000", "x"])
def test_a_bad_number_of_days_is_a_form_error_and_nothing_is_saved(days):
    tenant = TenantFactory()
    client = _console(admin_of(tenant))
    response = client.post(reverse("admin:entitlements_entitlementsettings_add"), {
        "tenant": str(tenant.pk), "external_user_lifecycle_action": "blockSignInAndDelete",
        "days_before_removal": days})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not EntitlementSettings.objects.exists()


def test_another_tenants_settings_are_404():
    tenant, other = TenantFactory(), TenantFactory()
    services.entitlement_settings_update(actor=Actor.operator(), tenant=other,
                                         changes={"external_user_lifecycle_action": "none"})
    client = _console(admin_of(tenant))
    assert client.get(reverse("admin:entitlements_entitlementsettings_change", args=[other.pk])).status_code == 404


def test_the_user_page_shows_a_blocked_guests_removal_date():
    tenant = TenantFactory()
    admin = admin_of(tenant)
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    services.block_then_delete(actor=Actor.for_user(admin), user=guest, reason="Denied in a review",
                               delete_after=timedelta(days=30))
    page = _console(admin).get(reverse("admin:directory_user_change", args=[guest.pk])).content.decode()
    section = page.split('id="user-section-lifecycle"', 1)[1].split("</fieldset>", 1)[0]
    row = ExternalUserLifecycle.objects.get(user=guest)
    assert "Denied in a review" in section and str(row.delete_after_at.year) in section
    assert "cancels the removal" in section
