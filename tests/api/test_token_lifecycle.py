"""Tokens die with the credentials and the people they were issued to (directory/tokens.py): a new
client secret or a disabled app revokes the app's tokens; a disabled or deleted user revokes its account's
tokens for that tenant; the token endpoint refuses disabled apps, expired secrets and users who may not
act in the app's tenant."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.idp.oidc.models import Token
from django.test import Client
from django.utils import timezone

from directory import services
from directory.actors import Actor
from directory.models import AppRegistration
from tests.api.conftest import issue_app_token
from tests.api.test_oauth_flows import REDIRECT, authorize, pkce_pair
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/identity/o/api/token"


def new_app(tenant, **kwargs):
    return services.app_registration_create(actor=Actor.operator(), tenant=tenant, display_name="App", **kwargs)


def client_credentials(client_id, secret):
    return Client().post(TOKEN_URL, {"grant_type": "client_credentials", "client_id": client_id,
                                     "client_secret": secret, "scope": ".default"})


def delegated_tokens(user, client_id, secret) -> dict:
    """Access and refresh token of ``user`` through the app, by the authorization-code flow."""
    browser = Client()
    browser.force_login(user.account)
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(browser, client_id, challenge)).query)["code"][0]
    response = Client().post(TOKEN_URL, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                         "client_id": client_id, "client_secret": secret, "code_verifier": verifier})
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client_id, secret, refresh_token):
    return Client().post(TOKEN_URL, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                     "client_id": client_id, "client_secret": secret})


@pytest.fixture
def delegated_app(api_tenant):
    return new_app(api_tenant, delegated_permissions=["User.Read.All"], redirect_uris=[REDIRECT])


# --- apps ---------------------------------------------------------------------------------------


def test_a_token_issued_before_a_secret_rotation_stops_working(client, api_tenant, api):
    registration, client_id, secret = new_app(api_tenant, application_permissions=["User.Read.All"])
    token = issue_app_token(client, client_id, secret)
    assert api(token).get("/v1.0/users").status_code == 200
    services.app_registration_new_secret(actor=Actor.operator(), registration=registration)
    response = api(token).get("/v1.0/users")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_a_secret_rotation_revokes_delegated_access_and_refresh_tokens(api_tenant, delegated_app, api):
    registration, client_id, secret = delegated_app
    tokens = delegated_tokens(UserFactory(tenant=api_tenant), client_id, secret)
    new_secret = services.app_registration_new_secret(actor=Actor.operator(), registration=registration)
    assert api(tokens["access_token"]).get("/v1.0/me").status_code == 401
    assert refresh(client_id, new_secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_the_token_endpoint_refuses_a_disabled_app(api_tenant):
    registration, client_id, secret = new_app(api_tenant, application_permissions=["User.Read.All"])
    services.app_registration_update(actor=Actor.operator(), registration=registration, changes={"enabled": False})
    response = client_credentials(client_id, secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client" and "access_token" not in response.json()


def test_disabling_an_app_revokes_its_tokens_for_good(client, api_tenant, api):
    registration, client_id, secret = new_app(api_tenant, application_permissions=["User.Read.All"])
    token = issue_app_token(client, client_id, secret)
    services.app_registration_update(actor=Actor.operator(), registration=registration, changes={"enabled": False})
    assert not Token.objects.filter(client_id=client_id).exists()
    services.app_registration_update(actor=Actor.operator(), registration=registration, changes={"enabled": True})
    assert api(token).get("/v1.0/users").status_code == 401  # enabling again does not bring old tokens back
    assert client_credentials(client_id, secret).status_code == 200


def test_the_token_endpoint_refuses_an_expired_secret(api_tenant):
    registration, client_id, secret = new_app(api_tenant, application_permissions=["User.Read.All"])
    AppRegistration.objects.filter(pk=registration.pk).update(secret_expires_at=timezone.now() - timedelta(seconds=1))
    response = client_credentials(client_id, secret)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_disabled_app_cannot_refresh_delegated_tokens(api_tenant, delegated_app):
    registration, client_id, secret = delegated_app
    tokens = delegated_tokens(UserFactory(tenant=api_tenant), client_id, secret)
    # Disabled behind the service's back (no revocation): the token endpoint still says no.
    AppRegistration.objects.filter(pk=registration.pk).update(enabled=False)
    assert refresh(client_id, secret, tokens["refresh_token"]).json()["error"] == "invalid_client"


# --- users and accounts ---------------------------------------------------------------------------


def test_refresh_works_for_an_enabled_user(api_tenant, delegated_app, api):
    _registration, client_id, secret = delegated_app
    tokens = delegated_tokens(UserFactory(tenant=api_tenant), client_id, secret)
    response = refresh(client_id, secret, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    assert api(response.json()["access_token"]).get("/v1.0/me").status_code == 200


def test_disabling_a_user_revokes_its_tokens_and_refresh_is_refused(api_tenant, delegated_app, api):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = delegated_tokens(user, client_id, secret)
    services.user_update(actor=Actor.operator(), user=user, changes={"account_enabled": False})
    assert api(tokens["access_token"]).get("/v1.0/me").status_code == 401
    response = refresh(client_id, secret, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_refresh_is_refused_for_a_user_disabled_without_revocation(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = delegated_tokens(user, client_id, secret)
    type(user).objects.filter(pk=user.pk).update(account_enabled=False)  # the token endpoint asks, too
    assert refresh(client_id, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_is_refused_for_a_deleted_user(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = delegated_tokens(user, client_id, secret)
    services.user_delete(actor=Actor.operator(), user=user)
    assert refresh(client_id, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_is_refused_for_a_disabled_account(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = delegated_tokens(user, client_id, secret)
    type(user.account).objects.filter(pk=user.account_id).update(is_active=False)
    assert refresh(client_id, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_an_authorization_code_is_refused_once_the_user_is_disabled(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    browser = Client()
    browser.force_login(user.account)
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(browser, client_id, challenge)).query)["code"][0]
    services.user_update(actor=Actor.operator(), user=user, changes={"account_enabled": False})
    response = Client().post(TOKEN_URL, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                         "client_id": client_id, "client_secret": secret, "code_verifier": verifier})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_disabling_a_guest_revokes_only_the_tokens_of_that_tenants_apps(api_tenant, delegated_token_for):
    account = AccountFactory()
    here = GuestFactory(tenant=api_tenant, account=account, external_user_state="Accepted")
    elsewhere = UserFactory(tenant=TenantFactory(), account=account)
    delegated_token_for(here, ["User.Read.All"])
    delegated_token_for(elsewhere, ["User.Read.All"])
    services.user_update(actor=Actor.operator(), user=here, changes={"account_enabled": False})
    assert list(Token.objects.filter(user=account).values_list("client__app_registration__tenant", flat=True)) == [
        elsewhere.tenant_id]


# --- revoked sign-in sessions (Graph's revokeSignInSessions: signInSessionsValidFromDateTime) ---------


def test_tokens_issued_before_a_reset_redemption_stay_dead_when_the_same_account_redeems_again(
        api_tenant, delegated_app, api):
    from invitations import services as invitation_services

    _registration, client_id, secret = delegated_app
    guest = GuestFactory(tenant=api_tenant, mail="gus@fabrikam.example", external_user_state="Accepted",
                         account=AccountFactory(email="gus@fabrikam.example"))
    account = guest.account
    old = delegated_tokens(guest, client_id, secret)
    assert api(old["access_token"]).get("/v1.0/me").status_code == 200
    invitation_services.invitation_reset_redemption(
        actor=Actor.operator(), user=guest, email="gus@fabrikam.example", redirect_url="https://example.com/")
    # The person redeems again with the same account (what invitation_redeem links).
    type(guest).objects.filter(pk=guest.pk).update(account=account, external_user_state="Accepted")
    guest.refresh_from_db()
    assert guest.sign_in_sessions_valid_from is not None

    response = api(old["access_token"]).get("/v1.0/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"
    refreshed = refresh(client_id, secret, old["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    new = delegated_tokens(guest, client_id, secret)  # signed in again since: works
    assert api(new["access_token"]).get("/v1.0/me").status_code == 200
    assert refresh(client_id, secret, new["refresh_token"]).status_code == 200


def test_a_token_issued_before_the_sessions_were_revoked_is_refused(api_tenant, delegated_app, api):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = delegated_tokens(user, client_id, secret)
    type(user).objects.filter(pk=user.pk).update(sign_in_sessions_valid_from=timezone.now())
    assert api(tokens["access_token"]).get("/v1.0/me").status_code == 401
    assert refresh(client_id, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
