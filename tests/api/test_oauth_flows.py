"""The OAuth flows API clients use, end to end against our own OpenID Connect provider."""

import base64
import hashlib
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from directory import services
from directory.actors import Actor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
REDIRECT = "https://app.example/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(client, client_id: str, challenge: str, scope: str = "openid User.Read.All"):
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": scope,
                       "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"})
    page = client.get(f"/identity/o/authorize?{query}")
    assert page.status_code == 200, page.content[:500]
    html = page.content.decode()
    assert "User.Read.All" in html  # the consent screen names the permission asked for
    request_field = re.search(r'name="request" value="([^"]*)"', html).group(1)
    response = client.post("/identity/o/authorize", {
        "request": unescape(request_field), "scopes": scope.split(), "action": "grant"})
    assert response.status_code == 302, response.content[:800]
    return response["Location"]


def test_authorization_code_with_pkce_gives_a_delegated_token_for_the_user(client, api_tenant, api):
    member = UserFactory(tenant=api_tenant, display_name="Mia Member")
    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=api_tenant, display_name="Portal app", delegated_permissions=["User.Read.All"],
        redirect_uris=[REDIRECT])
    _verifier, challenge = pkce_pair()
    client.force_login(member.account)
    location = authorize(client, client_id, challenge)
    params = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT) and params["state"] == ["s1"]
    code = params["code"][0]

    token_client = client.__class__()
    wrong = token_client.post("/identity/o/api/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "client_secret": secret, "code_verifier": "x" * 50})
    assert wrong.status_code == 400  # the verifier binds the code to the client that asked for it
    verifier2, challenge2 = pkce_pair()
    code = parse_qs(urlsplit(authorize(client, client_id, challenge2)).query)["code"][0]
    token = token_client.post("/identity/o/api/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "client_secret": secret, "code_verifier": verifier2})
    assert token.status_code == 200, token.content
    access = token.json()["access_token"]
    me = api(access).get("/v1.0/me")
    assert me.status_code == 200 and me.json()["displayName"] == "Mia Member"
    reuse = token_client.post("/identity/o/api/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "client_secret": secret, "code_verifier": verifier2})
    assert reuse.status_code == 400  # codes are single use


def test_client_credentials_with_a_wrong_secret_get_no_token(client, api_tenant):
    _registration, client_id, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=api_tenant, display_name="App", application_permissions=["User.Read.All"])
    response = client.post("/identity/o/api/token", {"grant_type": "client_credentials", "client_id": client_id,
                                                     "client_secret": "wrong", "scope": ".default"})
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_a_new_secret_voids_the_old_one(client, api_tenant):
    registration, client_id, old = services.app_registration_create(
        actor=Actor.operator(), tenant=api_tenant, display_name="App", application_permissions=["User.Read.All"])
    new = services.app_registration_new_secret(actor=Actor.operator(), registration=registration)
    body = {"grant_type": "client_credentials", "client_id": client_id, "scope": ".default"}
    assert client.post("/identity/o/api/token", {**body, "client_secret": old}).status_code in (400, 401)
    assert client.post("/identity/o/api/token", {**body, "client_secret": new}).status_code == 200
