"""Refresh tokens are judged by conditional access again (issue 12): a policy that blocks the user now
makes the refresh an ``invalid_grant`` with the reason; one that asks for MFA the authorization did not
meet is OAuth's ``interaction_required`` (nobody can be asked at the token endpoint); MFA met when the
app was authorized travels with the code and the refresh tokens. Every refresh goes into the sign-in log
as a non-interactive sign-in with the policies' results."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from directory import access
from directory.actors import Actor
from directory.models import SignInEvent
from policies import services as policy_services
from tests.api.test_oauth_flows import REDIRECT, authorize, pkce_pair
from tests.api.test_token_lifecycle import TOKEN_URL, new_app, refresh
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delegated_app(api_tenant):
    return new_app(api_tenant, delegated_permissions=["User.Read.All"], redirect_uris=[REDIRECT])


def _tokens(user, client_id, secret, *, mfa=False) -> dict:
    browser = Client()
    browser.force_login(user.account)
    if mfa:  # the session met MFA in the app's tenant before the app was authorized
        session = browser.session
        access.mark_satisfied(session, user.tenant, "mfa")
        session.save()
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(browser, client_id, challenge)).query)["code"][0]
    response = Client().post(TOKEN_URL, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                         "client_id": client_id, "client_secret": secret, "code_verifier": verifier})
    assert response.status_code == 200, response.content
    return response.json()


def _policy(tenant, user, grant, state="enabled"):
    return policy_services.conditional_access_policy_create(
        actor=Actor.operator(tenant=tenant), tenant=tenant, acknowledge_lockout=True, data={
            "displayName": f"{grant} for the user", "state": state, "grantControls": {"builtInControls": [grant]},
            "conditions": {"users": {"includeUsers": [str(user.pk)]}, "applications": {"includeApplications": ["All"]}}})


def test_a_block_added_after_authorization_refuses_the_refresh_with_the_reason(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = _tokens(user, client_id, secret)
    _policy(api_tenant, user, "block")
    response = refresh(client_id, secret, tokens["refresh_token"])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert "block for the user" in body["error_description"]
    event = SignInEvent.objects.filter(user=user, is_interactive=False).latest("created_at")
    assert event.result == "failure" and event.error_code == 53003
    assert {p["displayName"]: p["result"] for p in event.applied_policies}["block for the user"] == "failure"


def test_mfa_not_met_at_authorization_makes_the_refresh_ask_for_interaction(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = _tokens(user, client_id, secret)
    _policy(api_tenant, user, "mfa")
    response = refresh(client_id, secret, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "interaction_required"
    assert SignInEvent.objects.filter(user=user, is_interactive=False, error_code=50076).exists()


def test_mfa_met_at_authorization_carries_through_refreshes(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = _tokens(user, client_id, secret, mfa=True)
    _policy(api_tenant, user, "mfa")
    first = refresh(client_id, secret, tokens["refresh_token"])
    assert first.status_code == 200, first.content
    second = refresh(client_id, secret, first.json().get("refresh_token") or tokens["refresh_token"])
    assert second.status_code == 200, second.content
    event = SignInEvent.objects.filter(user=user, is_interactive=False).latest("created_at")
    assert event.result == "success"
    assert {p["displayName"]: p["result"] for p in event.applied_policies}["mfa for the user"] == "success"


def test_a_report_only_block_lets_the_refresh_through_and_logs_its_would_be_result(api_tenant, delegated_app):
    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = _tokens(user, client_id, secret)
    _policy(api_tenant, user, "block", state="enabledForReportingButNotEnforced")
    assert refresh(client_id, secret, tokens["refresh_token"]).status_code == 200
    event = SignInEvent.objects.filter(user=user, is_interactive=False).latest("created_at")
    assert {p["displayName"]: p["result"] for p in event.applied_policies}["block for the user"] == "reportOnlyFailure"


def test_a_password_the_person_must_change_makes_the_refresh_ask_for_interaction(api_tenant, delegated_app):
    from directory.models import Account

    _registration, client_id, secret = delegated_app
    user = UserFactory(tenant=api_tenant)
    tokens = _tokens(user, client_id, secret)
    Account.objects.filter(pk=user.account_id).update(password_change_required=True)  # an admin reset since

    response = refresh(client_id, secret, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "interaction_required"
    assert "passwordChange" in response.json()["error_description"]
