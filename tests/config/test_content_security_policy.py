"""Every page carries a Content-Security-Policy that allows scripts from our own origin only, and the
pages still work under it: the admin, the access panel, sign-in and Swagger UI (a browser checks for
violations in tests/browser/test_content_security_policy.py)."""

import re

import pytest
from django.urls import reverse

from directory import services
from directory.models import OutboxMessage
from tests.factories import TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def assert_strict(response):
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"] and directives["form-action"] == ["'self'"]


def inline_scripts(html: str) -> list[str]:
    """<script> elements with code in the page (JSON data blocks are not run, so they are allowed)."""
    return [tag for tag in re.findall(r"<script\b[^>]*>", html)
            if "src=" not in tag and "application/json" not in tag]


def test_every_page_carries_the_policy_and_holds_no_inline_script(client):
    tenant = TenantFactory(slug="tailwind")
    member = UserFactory(tenant=tenant)
    anonymous_pages = ["/accounts/login/", "/accounts/login/?next=/admin/", "/api/docs/", f"/t/{tenant.slug}/sign-in/"]
    for url in anonymous_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        assert inline_scripts(response.content.decode()) == [], url
    client.force_login(member.account)
    response = client.get(f"/t/{tenant.slug}/")
    assert response.status_code == 200
    assert_strict(response)
    assert inline_scripts(response.content.decode()) == []


def test_admin_pages_render_under_the_policy(client):
    tenant = TenantFactory()
    services.outbox_enqueue(tenant=tenant, to=["guest@partner.example"], subject="Tenant mail", body_text="x",
                            body_html='<p style="color:#123456">Hi</p>')
    client.force_login(admin_of(tenant).account)
    message = OutboxMessage.objects.get(subject="Tenant mail")
    for url in [reverse("admin:index"), reverse("admin:directory_user_changelist"),
                reverse("admin:directory_outboxmessage_changelist"),
                reverse("admin:directory_outboxmessage_change", args=[message.pk])]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        assert inline_scripts(response.content.decode()) == [], url


def test_swagger_ui_loads_its_start_up_script_as_a_file(client):
    page = client.get("/api/docs/").content.decode()
    [start_up] = [src for src in re.findall(r'<script src="([^"]+)"', page) if "script" in src.split("?", 1)[-1]]
    script = client.get(start_up.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
