"""The OpenID Connect provider asks the app's tenant before it issues a code or an ID token: an unmet
requirement sends the person to meet it (then back), a block shows the block page, and ``prompt=none``
gets OAuth's ``interaction_required``. Tested with the test-only "guests require MFA" and "block
everyone" evaluators."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from directory import access, services
from directory.actors import Actor
from directory.models import SignInEvent
from tests.api.test_oauth_flows import REDIRECT, authorize, pkce_pair
from tests.factories import AccountFactory, GuestFactory, UserFactory

pytestmark = pytest.mark.django_db


def _app(tenant):
    _registration, client_id, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="Portal app", delegated_permissions=["User.Read.All"],
        redirect_uris=[REDIRECT])
    return client_id


def _query(client_id, **extra) -> str:
    _verifier, challenge = pkce_pair()
    return urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
                      "scope": "openid User.Read.All", "state": "s1", "code_challenge": challenge,
                      "code_challenge_method": "S256", **extra})


def test_a_guest_must_meet_mfa_before_the_app_gets_a_code(client, api_tenant, guests_require_mfa):
    client_id = _app(api_tenant)
    guest = GuestFactory(tenant=api_tenant, external_user_state="Accepted", account=AccountFactory())
    client.force_login(guest.account)
    response = client.get(f"/identity/o/authorize?{_query(client_id)}")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == f"/t/{api_tenant.slug}/mfa/"
    assert parse_qs(location.query)["next"][0].startswith("/identity/o/authorize?")
    assert SignInEvent.objects.get(tenant=api_tenant, resource="token").result == "interrupted"

    silent = client.get(f"/identity/o/authorize?{_query(client_id, prompt='none')}")
    assert silent.status_code == 302 and "error=interaction_required" in silent["Location"]

    session = client.session
    access.mark_satisfied(session, api_tenant, "mfa")
    session.save()
    _verifier, challenge = pkce_pair()
    assert "code=" in authorize(client, client_id, challenge)


def test_a_blocked_member_sees_the_block_page_not_the_consent(client, api_tenant, everyone_blocked):
    client_id = _app(api_tenant)
    member = UserFactory(tenant=api_tenant)
    client.force_login(member.account)
    response = client.get(f"/identity/o/authorize?{_query(client_id)}")
    assert response.status_code == 403
    assert "directory/access_blocked.html" in [t.name for t in response.templates]


def test_a_delegated_token_is_a_non_interactive_sign_in_in_the_apps_tenant(client, api_tenant):
    member = UserFactory(tenant=api_tenant)
    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=api_tenant, display_name="Portal app", delegated_permissions=["User.Read.All"],
        redirect_uris=[REDIRECT])
    client.force_login(member.account)
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(client, client_id, challenge)).query)["code"][0]
    token = client.__class__().post("/identity/o/api/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "client_secret": secret, "code_verifier": verifier})
    assert token.status_code == 200
    event = SignInEvent.objects.get(tenant=api_tenant, is_interactive=False)
    assert (event.user_id, event.resource, event.result) == (member.pk, "token", "success")
