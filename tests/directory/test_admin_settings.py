"""Tenant settings, branding and the outbox in the admin console."""

import pytest
from django.urls import reverse

from directory import services
from directory.models import AuditEvent, Branding, Domain, OutboxMessage, Role
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


def tenant_form(tenant, **extra):
    data = {"name": tenant.name, "configuration": "workforce", "privacy_statement_url": "",
            "groups_self_service_enabled": "on",
            "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"}
    data.update(extra)
    return data


def test_global_admin_adds_a_domain_through_the_service(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    response = client.post(reverse("admin:directory_tenant_change", args=[tenant.pk]), tenant_form(
        tenant, **{"domains-TOTAL_FORMS": "1", "domains-0-name": "Partner-Hub.example", "domains-0-is_verified": ""}))
    assert response.status_code == 302
    assert Domain.objects.get(tenant=tenant).name == "partner-hub.example"
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Add unverified domain").exists()


def test_invalid_domain_in_the_admin_is_a_clear_error(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    response = client.post(reverse("admin:directory_tenant_change", args=[tenant.pk]), tenant_form(
        tenant, **{"domains-TOTAL_FORMS": "1", "domains-0-name": "not a domain"}))
    assert response.status_code == 200
    assert "is not a valid domain name" in response.content.decode()
    assert not Domain.objects.exists()


def test_user_administrator_cannot_change_tenant_settings(client):
    tenant = TenantFactory(name="Before")
    client.force_login(admin_of(tenant, Role.USER_ADMINISTRATOR).account)
    response = client.post(reverse("admin:directory_tenant_change", args=[tenant.pk]), tenant_form(tenant, name="After"))
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.name == "Before"


def test_only_the_operator_creates_tenants(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    assert client.get(reverse("admin:directory_tenant_add")).status_code == 403


def test_branding_colour_must_be_hex(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    response = client.post(reverse("admin:directory_branding_add"), {
        "tenant": str(tenant.pk), "locale": "", "background_color": "red;x:y", "accent_color": "",
        "sign_in_page_text": "", "username_hint_text": "",
    })
    assert response.status_code == 200
    assert "#RRGGBB" in response.content.decode()
    assert not Branding.objects.exists()


def test_oversized_logo_is_refused(client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from directory.demo import _logo

    settings.LOGO_MAX_BYTES = 100
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    logo = _logo("Big", "#123456")
    response = client.post(reverse("admin:directory_branding_add"), {
        "tenant": str(tenant.pk), "locale": "", "background_color": "#FFFFFF", "accent_color": "#0F6CBD",
        "sign_in_page_text": "Welcome", "username_hint_text": "",
        "banner_logo": SimpleUploadedFile("big.png", logo.read(), content_type="image/png"),
    })
    assert response.status_code == 200
    assert "at most 0 KB is allowed" in response.content.decode()
    assert not Branding.objects.exists()


def test_global_admin_reads_the_tenants_outbox_but_not_platform_mail(client):
    tenant = TenantFactory()
    services.outbox_enqueue(tenant=tenant, to=["guest@partner.example"], subject="Tenant mail", body_text="x",
                            body_html="<script>alert(1)</script><p>Hi</p>")
    services.outbox_enqueue(to=["someone@else.example"], subject="Your sign-in code", body_text="123456")
    services.outbox_enqueue(tenant=TenantFactory(), to=["x@y.example"], subject="Other tenant mail", body_text="x")
    client.force_login(admin_of(tenant).account)
    body = client.get(reverse("admin:directory_outboxmessage_changelist")).content.decode()
    assert "Tenant mail" in body
    assert "Your sign-in code" not in body and "Other tenant mail" not in body
    message = OutboxMessage.objects.get(subject="Tenant mail")
    detail = client.get(reverse("admin:directory_outboxmessage_change", args=[message.pk])).content.decode()
    assert "<iframe sandbox" in detail and "<script>alert(1)" not in detail


def test_global_admin_sets_the_group_self_service_settings_audited(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    response = client.post(reverse("admin:directory_tenant_change", args=[tenant.pk]), tenant_form(
        tenant, groups_self_service_enabled="", members_can_create_security_groups="on",
        owners_manage_join_requests="on"))
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.groups_self_service_enabled, tenant.members_can_create_security_groups,
            tenant.owners_manage_join_requests) == (False, True, True)
    changed = [{p["displayName"] for p in e.target_resources[0]["modifiedProperties"]}
               for e in AuditEvent.objects.filter(tenant=tenant, activity_display_name="Update company settings")]
    assert {"groups_self_service_enabled", "members_can_create_security_groups",
            "owners_manage_join_requests"} in changed


def test_group_settings_need_the_authorization_policy_capability():
    from django.core.exceptions import PermissionDenied

    from directory.actors import Actor

    tenant = TenantFactory()
    with pytest.raises(PermissionDenied):
        services.tenant_group_settings_update(actor=Actor.for_user(admin_of(tenant, Role.USER_ADMINISTRATOR)),
                                              tenant=tenant, changes={"owners_manage_join_requests": True})
    services.tenant_group_settings_update(actor=Actor.for_user(admin_of(tenant, Role.SECURITY_ADMINISTRATOR)),
                                          tenant=tenant, changes={"owners_manage_join_requests": True})
    tenant.refresh_from_db()
    assert tenant.owners_manage_join_requests


def test_application_admin_sets_self_service_access_with_at_most_ten_approvers(client):
    from directory.actors import Actor
    from tests.factories import ApplicationFactory, GroupFactory, UserFactory

    tenant = TenantFactory()
    app, group = ApplicationFactory(tenant=tenant), GroupFactory(tenant=tenant)
    people = [UserFactory(tenant=tenant) for _ in range(11)]
    actor = Actor.for_user(admin_of(tenant, Role.APPLICATION_ADMINISTRATOR))
    services.application_update(actor=actor, application=app, changes={
        "self_service_enabled": True, "self_service_group": group, "self_service_approvers": people[:10]})
    app.refresh_from_db()
    assert app.self_service_enabled and app.self_service_group == group and app.self_service_approvers.count() == 10
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.application_update(actor=actor, application=app, changes={"self_service_approvers": people})
    other = GroupFactory(tenant=TenantFactory())
    with pytest.raises(ValidationError):
        services.application_update(actor=actor, application=app, changes={"self_service_group": other})
