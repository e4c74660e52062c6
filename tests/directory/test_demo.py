from datetime import timedelta

import pytest
from django.core.management import call_command

from directory.models import Account, Application, AuditEvent, Group, Role, RoleAssignment, Tenant, User

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_both_tenants_and_is_idempotent(capsys):
    call_command("seed_demo")
    counts = [m.objects.count() for m in (Tenant, Account, User, Group, Application, RoleAssignment)]
    call_command("seed_demo")
    assert [m.objects.count() for m in (Tenant, Account, User, Group, Application, RoleAssignment)] == counts
    out = capsys.readouterr().out
    assert "admin@tailwindtraders.example" in out and "/admin/" in out

    tailwind = Tenant.objects.get(slug="tailwind")
    guests = User.objects.filter(tenant=tailwind).guests()
    assert {g.external_user_state for g in guests} == {"Accepted", "PendingAcceptance"}
    assert all("#EXT#@tailwindtraders.example" in g.user_principal_name for g in guests)
    assert all(g.sponsors.exists() for g in guests)
    assert all(a.logo for a in Application.objects.filter(tenant=tailwind))
    admin = User.objects.get(tenant=tailwind, user_principal_name="admin@tailwindtraders.example")
    assert admin.account.is_staff and admin.role_assignments.filter(role=Role.GLOBAL_ADMINISTRATOR).exists()
    assert AuditEvent.objects.filter(tenant=tailwind).exists()


def test_demo_admin_signs_in_with_the_printed_password(client):
    from directory.demo import DEMO_PASSWORD

    call_command("seed_demo")
    response = client.post("/accounts/login/", {"login": "admin@tailwindtraders.example", "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/home/"
    assert "Tailwind Traders" in client.get("/home/").content.decode()


def test_demo_guest_sees_both_organisations_on_home(client):
    from directory.demo import DEMO_PASSWORD

    call_command("seed_demo")
    client.post("/accounts/login/", {"login": "gcarvalho@proseware.example", "password": DEMO_PASSWORD})
    body = client.get("/home/").content.decode()
    assert "Proseware" in body and "Tailwind Traders" in body and "Guest" in body


def test_seed_demo_prints_every_account_with_its_role_the_panel_urls_and_the_superuser_hint(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    for line in ("admin@tailwindtraders.example  Global Administrator of Tailwind Traders · admin console",
                 "adele@tailwindtraders.example  User Administrator of Tailwind Traders",
                 "megan@tailwindtraders.example  Member of Tailwind Traders",
                 "lee@tailwindtraders.example    Guest Inviter of Tailwind Traders",
                 "admin@proseware.example        Global Administrator of Proseware"):
        assert line in out
    assert "gcarvalho@proseware.example    Guest of Tailwind Traders" in out
    assert "alex@proseware.example         Guest of Tailwind Traders, invited, not redeemed yet" in out
    assert "/t/tailwind/" in out and "/t/proseware/" in out
    assert "createsuperuser" in out


def test_the_seeded_pending_guest_has_an_invitation_that_can_be_resent():
    from directory.actors import Actor
    from invitations.models import Invitation
    from invitations.services import invitation_resend

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: still one invitation
    tailwind = Tenant.objects.get(slug="tailwind")
    [invitation] = Invitation.objects.filter(tenant=tailwind, invited_email="alex@proseware.example")
    assert invitation.status == Invitation.Status.PENDING_ACCEPTANCE and invitation.message_body
    admin = User.objects.get(tenant=tailwind, user_principal_name="admin@tailwindtraders.example")
    # The seeded e-mail went out just now: the resend waits out the rate limit's window, as an admin would.
    Invitation.objects.filter(pk=invitation.pk).update(last_sent_at=invitation.last_sent_at - timedelta(hours=1))
    url = invitation_resend(actor=Actor.for_user(admin), invitation=invitation)
    assert "/t/tailwind/invitations/" in url


def test_demo_apps_launch_a_page_the_project_serves_and_the_demo_tenants_are_branded(client):
    from directory.models import Branding

    call_command("seed_demo")
    tailwind = Tenant.objects.get(slug="tailwind")
    for app in Application.objects.filter(tenant=tailwind):
        path = app.launch_url.split("://", 1)[1].split("/", 1)[1]
        page = client.get(f"/{path}")
        assert page.status_code == 200 and app.display_name in page.content.decode()
    branding = Branding.objects.get(tenant=tailwind, locale="")
    assert branding.banner_logo and branding.accent_color and branding.sign_in_page_text
    assert branding.accent_color in client.get("/t/tailwind/sign-in/").content.decode()


def test_home_links_each_organization_to_its_access_panel(client):
    from directory.demo import DEMO_PASSWORD

    call_command("seed_demo")
    client.post("/accounts/login/", {"login": "gcarvalho@proseware.example", "password": DEMO_PASSWORD})
    body = client.get("/home/").content.decode()
    assert 'href="/t/proseware/"' in body and 'href="/t/tailwind/"' in body
