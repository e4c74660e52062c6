"""This deployment as another deployment's identity provider, in one process: the federation client, the
ID token's ``tid`` and ``amr``, the home tenant's outbound settings decided before answering."""

import base64
import json
import re
from io import StringIO
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from django.core.management import call_command

from directory.actors import Actor
from directory.federation_clients import federation_client_register
from policies import services
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
B = "https://portal.tailwind.example"
TAILWIND_ID = "5b0f3c52-6a0e-4f51-9a57-3b6c2f1d7e10"
CALLBACK = f"{B}/t/tailwind/federation/callback/"


@pytest.fixture
def registered():
    return federation_client_register(actor=Actor.operator(), partner_issuer=B, partner_tenant_id=TAILWIND_ID,
                                      partner_name="Tailwind Traders", redirect_uris=[CALLBACK])


@pytest.fixture
def ann(tenant):
    return UserFactory(tenant=tenant, user_principal_name="ann@tailwind.example")


def _sign_in(client, user):
    response = client.post("/accounts/login/", {"login": user.account.email, "password": PASSWORD})
    assert response.status_code == 302


def _authorize(client, client_id):
    return client.get("/identity/o/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid email profile",
        "state": "st-1", "nonce": "n-1"}))


def _id_token(client, client_id, secret, code):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post("/identity/o/api/token", {"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": CALLBACK}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return jwt.decode(response.json()["id_token"], options={"verify_signature": False})


def test_the_id_token_carries_the_home_tenant_and_how_the_member_signed_in(client, tenant, ann, registered):
    client_id, secret = registered
    _sign_in(client, ann)
    response = _authorize(client, client_id)
    # The answer leaves the site through a page (form-action 'self' would stop a 302 after the sign-in form).
    assert response.status_code == 200
    url = response.context["url"]
    assert url.startswith(CALLBACK) and parse_qs(urlsplit(url).query)["state"] == ["st-1"]
    claims = _id_token(client, client_id, secret, parse_qs(urlsplit(url).query)["code"][0])
    assert claims["tid"] == str(tenant.pk) and claims["amr"] == ["pwd"] and claims["nonce"] == "n-1"
    assert claims["email"] == ann.account.email and claims["email_verified"] is True
    from directory.models import SignInEvent

    event = SignInEvent.objects.get(tenant=tenant, resource="token")
    assert event.user == ann and event.result == "success" and event.authentication_methods == ["password"]


def test_mfa_answered_in_the_home_tenant_is_in_amr(client, tenant, ann, registered):
    from directory.access import mark_satisfied

    client_id, secret = registered
    _sign_in(client, ann)
    session = client.session
    mark_satisfied(session, tenant, "mfa")
    session.save()
    url = _authorize(client, client_id).context["url"]
    claims = _id_token(client, client_id, secret, parse_qs(urlsplit(url).query)["code"][0])
    assert claims["amr"] == ["pwd", "mfa"]


def test_the_home_tenants_outbound_block_refuses_with_the_reason_for_the_other_deployment(client, tenant, ann,
                                                                                          registered):
    services.cross_tenant_partner_create(actor=Actor.operator(tenant=tenant), tenant=tenant,
                                         partner_tenant_id=TAILWIND_ID, issuer=B, settings={
                                             "b2bCollaborationOutbound": {
                                                 "usersAndGroups": {"accessType": "blocked", "targets": [
                                                     {"target": str(ann.pk), "targetType": "user"}]},
                                                 "applications": {"accessType": "allowed", "targets": [
                                                     {"target": "AllApplications", "targetType": "application"}]}}})
    _sign_in(client, ann)
    response = _authorize(client, registered[0])
    assert response.status_code == 403
    body = response.content.decode()
    assert "does not allow you to collaborate with Tailwind Traders" in body
    back = re.search(r'href="([^"]+)"[^>]*>Return to Tailwind Traders', body).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(back).query)
    assert back.startswith(CALLBACK) and query["error"] == ["access_denied"] and query["state"] == ["st-1"]
    assert "Tailwind Traders" in query["error_description"][0]
    from directory.models import SignInEvent

    event = SignInEvent.objects.get(tenant=tenant, resource="token")
    assert event.result == "failure" and "Tailwind Traders" in event.failure_reason


def test_a_guest_here_has_no_home_tenant_to_vouch_for_them(client, tenant, registered):
    from tests.factories import AccountFactory, GuestFactory

    guest = GuestFactory(tenant=tenant, account=AccountFactory(email="gus@elsewhere.example"))
    client.force_login(guest.account)
    response = _authorize(client, registered[0])
    assert response.status_code == 403 and "no organization account" in response.content.decode()


def test_the_command_registers_a_client_and_prints_its_secret_once():
    out = StringIO()
    call_command("federation_client_add", "--partner-issuer", B, "--partner-tenant-id", TAILWIND_ID,
                 "--partner-name", "Tailwind Traders", "--redirect-uri", CALLBACK, stdout=out)
    data = json.loads(out.getvalue())
    from allauth.idp.oidc.models import Client

    client = Client.objects.get(id=data["clientId"])
    assert client.data["federation"] == {"issuer": B, "tenant_id": TAILWIND_ID, "name": "Tailwind Traders"}
    assert data["clientSecret"] not in client.secret


@pytest.mark.parametrize("bad", [{"partner_tenant_id": "nope"}, {"partner_issuer": "http://evil.example"},
                                 {"redirect_uris": []}])
def test_the_registration_refuses_bad_values(bad):
    from django.core.exceptions import ValidationError

    values = {"partner_issuer": B, "partner_tenant_id": TAILWIND_ID, "partner_name": "T", "redirect_uris": [CALLBACK],
              **bad}
    with pytest.raises(ValidationError):
        federation_client_register(actor=Actor.operator(), **values)
