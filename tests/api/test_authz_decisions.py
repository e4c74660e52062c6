"""The two disagreements between the console and the API, decided once in directory/authz.py and held in
both interfaces."""

import pytest
from django.urls import reverse

from directory.models import Role
from policies.models import CollaborationSettings
from tests.factories import TenantFactory, admin_of

R = Role


# --- the two disagreements, decided once and held in both interfaces ------------------------------

@pytest.mark.django_db
def test_groups_administrator_reads_no_audit_log_in_the_console_nor_the_api(client, api, delegated_token_for):
    tenant = TenantFactory()
    groups_admin = admin_of(tenant, R.GROUPS_ADMINISTRATOR)
    client.force_login(groups_admin.account)
    assert client.get(reverse("admin:directory_auditevent_changelist")).status_code == 403
    response = api(delegated_token_for(groups_admin, ["AuditLog.Read.All"])).get("/v1.0/auditLogs/directoryAudits")
    assert response.status_code == 403


@pytest.mark.django_db
def test_security_administrator_reads_the_audit_log_in_the_console_and_the_api(client, api, delegated_token_for):
    tenant = TenantFactory()
    security_admin = admin_of(tenant, R.SECURITY_ADMINISTRATOR)
    client.force_login(security_admin.account)
    assert client.get(reverse("admin:directory_auditevent_changelist")).status_code == 200
    response = api(delegated_token_for(security_admin, ["AuditLog.Read.All"])).get("/v1.0/auditLogs/directoryAudits")
    assert response.status_code == 200


@pytest.mark.django_db
def test_security_administrator_changes_the_external_collaboration_settings_in_the_console_and_the_api(
        client, api, delegated_token_for):
    tenant = TenantFactory()
    security_admin = admin_of(tenant, R.SECURITY_ADMINISTRATOR)
    settings = CollaborationSettings.objects.get(tenant=tenant)
    client.force_login(security_admin.account)
    url = reverse("admin:policies_collaborationsettings_change", args=[settings.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "allow_invites_from": "adminsAndGuestInviters", "guest_user_role_id": settings.guest_user_role_id,
        "domain_list_type": "none", "domains": "", "email_otp_enabled": "on", "guests_can_leave": "on",
        "invitation_lifetime_days": "30"})
    assert response.status_code == 302, response.content
    settings.refresh_from_db()
    assert settings.allow_invites_from == "adminsAndGuestInviters"
    patched = api(delegated_token_for(security_admin, ["Policy.ReadWrite.Authorization"])).patch(
        "/v1.0/policies/authorizationPolicy", {"allowInvitesFrom": "everyone"}, format="json")
    assert patched.status_code == 204
    settings.refresh_from_db()
    assert settings.allow_invites_from == "everyone"


@pytest.mark.django_db
def test_user_administrator_cannot_change_the_external_collaboration_settings_anywhere(
        client, api, delegated_token_for):
    tenant = TenantFactory()
    user_admin = admin_of(tenant, R.USER_ADMINISTRATOR)
    settings = CollaborationSettings.objects.get(tenant=tenant)
    client.force_login(user_admin.account)
    response = client.post(reverse("admin:policies_collaborationsettings_change", args=[settings.pk]), {
        "allow_invites_from": "everyone", "guest_user_role_id": settings.guest_user_role_id,
        "domain_list_type": "none", "domains": "", "invitation_lifetime_days": "30"})
    assert response.status_code == 403
    patched = api(delegated_token_for(user_admin, ["Policy.ReadWrite.Authorization"])).patch(
        "/v1.0/policies/authorizationPolicy", {"allowInvitesFrom": "everyone"}, format="json")
    assert patched.status_code == 403
    settings.refresh_from_db()
    assert settings.allow_invites_from != "everyone"
