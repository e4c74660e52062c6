"""Tenant settings, branding and the outbox in the admin console."""

import pytest
from django.urls import reverse

from directory import services
from directory.models import AuditEvent, Branding, Domain, OutboxMessage, Role
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


def tenant_form(tenant, **extra):
    data = {"name": tenant.name, "configuration": "workforce", "privacy_statement_url": "",
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
