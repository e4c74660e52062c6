"""App registrations in the admin console: tenant isolation, secrets shown once, permissions that
take effect on the API at once."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from directory import services
from directory.actors import Actor
from directory.models import AppRegistration, AuditEvent, Role
from tests.api.conftest import issue_app_token
from tests.factories import TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

ADD = "admin:directory_appregistration_add"
LIST = "admin:directory_appregistration_changelist"


def change_url(registration):
    return reverse("admin:directory_appregistration_change", args=[registration.pk])


@pytest.fixture
def tenants():
    return TenantFactory(name="Home Co"), TenantFactory(name="Other Co")


def logged_in(client, user):
    client.force_login(user.account)
    return client


def register(client, tenant, **data):
    form = {"tenant": str(tenant.pk), "display_name": "Sync job", "application_permissions": ["User.Invite.All"],
            "delegated_permissions": [], "redirect_uris": "", "secret_lifetime_days": "180", "_save": "Save"}
    form.update(data)
    return client.post(reverse(ADD), form, follow=True)


def shown_secret(response) -> tuple[str, str]:
    text = response.content.decode()
    client_id, secret = re.search(r"client id <code>([^<]+)</code> client secret <code>([^<]+)</code>", text).groups()
    return client_id, secret


def test_registering_shows_client_id_and_secret_once_and_the_secret_works(client, tenants):
    home, _ = tenants
    logged_in(client, admin_of(home))
    response = register(client, home)
    assert response.status_code == 200
    client_id, secret = shown_secret(response)
    registration = AppRegistration.objects.get()
    assert registration.client_id == client_id and registration.tenant == home
    assert registration.application_permissions == ["User.Invite.All"]
    assert registration.secret_expires_at.date() == (timezone.now() + timedelta(days=180)).date()
    assert secret not in registration.client.secret  # stored hashed
    # Never shown again: not on the list, not on the app's page.
    for url in (reverse(LIST), change_url(registration)):
        page = client.get(url).content.decode()
        assert secret not in page
    assert client_id in client.get(reverse(LIST)).content.decode()
    # The secret gets a token with exactly the granted permission.
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_app_token(APIClient(), client_id, secret)}")
    assert api.get("/v1.0/users").status_code == 403
    created = api.post("/v1.0/invitations", {"invitedUserEmailAddress": "a@fabrikam.example",
                                             "inviteRedirectUrl": "https://x.example/"}, format="json")
    assert created.status_code == 201
    assert AuditEvent.objects.filter(tenant=home, activity_display_name="Add application").count() == 1


def test_bad_input_is_a_form_error_and_registers_nothing(client, tenants):
    home, _ = tenants
    logged_in(client, admin_of(home))
    for data in ({"application_permissions": ["Root.Everything"]}, {"redirect_uris": "javascript:alert(1)"},
                 {"redirect_uris": "http://app.example/cb"}, {"display_name": ""}):
        response = register(client, home, **data)
        assert response.status_code == 200 and b"errornote" in response.content, data
    assert not AppRegistration.objects.exists()


def test_redirect_uris_allow_delegated_sign_in(client, tenants):
    home, _ = tenants
    logged_in(client, admin_of(home))
    register(client, home, delegated_permissions=["User.Read"], redirect_uris="https://app.example/cb\n")
    registration = AppRegistration.objects.get()
    assert registration.client.get_redirect_uris() == ["https://app.example/cb"]
    assert "authorization_code" in registration.client.get_grant_types()


def test_admins_see_and_manage_only_their_tenants_apps(client, tenants):
    home, other = tenants
    theirs, _cid, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=other, display_name="Theirs Secret",
                                                             application_permissions=["User.Read.All"])
    logged_in(client, admin_of(home))
    listing = client.get(reverse(LIST)).content.decode()
    assert "Theirs Secret" not in listing and "Other Co" not in listing
    assert client.get(change_url(theirs)).status_code == 404
    # Their app is not in the action's queryset: no new secret is made for it.
    hash_before = theirs.client.secret
    client.post(reverse(LIST), {"action": "new_secret", "_selected_action": [str(theirs.pk)]}, follow=True)
    theirs.client.refresh_from_db()
    assert theirs.client.secret == hash_before
    # Nor can an app be registered in their tenant.
    response = register(client, other)
    assert response.status_code == 200 and b"errornote" in response.content
    assert AppRegistration.objects.count() == 1


def test_readers_see_apps_but_only_application_managers_register(client, tenants):
    home, _ = tenants
    services.app_registration_create(actor=Actor.operator(), tenant=home, display_name="Visible App")
    logged_in(client, admin_of(home, Role.GROUPS_ADMINISTRATOR))
    assert "Visible App" in client.get(reverse(LIST)).content.decode()
    assert client.get(reverse(ADD)).status_code == 403
    client.logout()
    logged_in(client, admin_of(home, Role.APPLICATION_ADMINISTRATOR))
    assert client.get(reverse(ADD)).status_code == 200


def test_new_secret_action_replaces_the_secret_and_shows_it_once(client, tenants):
    home, _ = tenants
    registration, client_id, old_secret = services.app_registration_create(
        actor=Actor.operator(), tenant=home, display_name="Rotating", application_permissions=["User.Read.All"],
        secret_lifetime_days=10)
    logged_in(client, admin_of(home))
    response = client.post(reverse(LIST), {"action": "new_secret", "_selected_action": [str(registration.pk)]},
                           follow=True)
    shown_id, new_secret = shown_secret(response)
    assert shown_id == client_id and new_secret != old_secret
    assert new_secret not in client.get(reverse(LIST)).content.decode()
    from rest_framework.test import APIClient

    refused = APIClient().post("/identity/o/api/token", {"grant_type": "client_credentials", "client_id": client_id,
                                                         "client_secret": old_secret, "scope": ".default"})
    assert refused.status_code in (400, 401)
    assert issue_app_token(APIClient(), client_id, new_secret)
    registration.refresh_from_db()
    assert registration.secret_expires_at.date() == (timezone.now() + timedelta(days=180)).date()
    assert AuditEvent.objects.filter(activity_display_name__startswith="Update application – Certificates").exists()


def test_list_shows_secret_expiry_and_expired_secrets(client, tenants):
    home, _ = tenants
    expired, *_ = services.app_registration_create(actor=Actor.operator(), tenant=home, display_name="Old")
    AppRegistration.objects.filter(pk=expired.pk).update(secret_expires_at=timezone.now() - timedelta(days=1))
    services.app_registration_create(actor=Actor.operator(), tenant=home, display_name="Forever", secret_lifetime_days=None)
    logged_in(client, admin_of(home))
    page = client.get(reverse(LIST)).content.decode()
    assert "secret expires" in page.lower()
    assert "expired" in page and "never" in page


def test_permissions_are_editable_and_apply_to_existing_tokens_at_once(client, tenants, api):
    home, _ = tenants
    registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=home, display_name="Editable", application_permissions=["User.Read.All"])
    from rest_framework.test import APIClient

    token = issue_app_token(APIClient(), client_id, secret)
    UserFactory(tenant=home)
    assert api(token).get("/v1.0/users").status_code == 200
    logged_in(client, admin_of(home))
    response = client.post(change_url(registration), {
        "display_name": "Editable", "enabled": "on", "application_permissions": ["Policy.Read.All"],
        "delegated_permissions": [], "_save": "Save"}, follow=True)
    assert response.status_code == 200 and b"errornote" not in response.content
    registration.refresh_from_db()
    assert registration.application_permissions == ["Policy.Read.All"]
    assert api(token).get("/v1.0/users").status_code == 403
    assert api(token).get("/v1.0/policies/authorizationPolicy").status_code == 200
    event = AuditEvent.objects.get(activity_display_name="Update application")
    assert event.initiated_by["user"]["userPrincipalName"].endswith(home.initial_domain)
    # Switching the app off stops its tokens at once.
    client.post(change_url(registration), {"display_name": "Editable", "application_permissions": ["Policy.Read.All"],
                                           "delegated_permissions": [], "_save": "Save"})
    assert api(token).get("/v1.0/policies/authorizationPolicy").status_code == 401
