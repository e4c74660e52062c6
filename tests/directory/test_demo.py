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
