"""policies.federation.oidc against a local OpenID Connect issuer (this deployment, as a live server: its
discovery document and JWKS), with ID tokens signed by that issuer's key; Google and Microsoft point at it
through FEDERATION_WELL_KNOWN_ISSUERS, since the real ones are not reachable from here."""

import time

import jwt
import pytest
from allauth.core.internal import jwkkit
from django.conf import settings as django_settings

from directory.actors import Actor
from invitations.discovery import discover
from policies import services
from policies.federation import oidc
from policies.models import IdentityProvider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def issuer(live_server, settings):
    settings.FEDERATION_WELL_KNOWN_ISSUERS = {"google": live_server.url, "microsoft": live_server.url + "/{tenant}"}
    return live_server.url


def _token(issuer: str, *, key_pem: str | None = None, **claims) -> str:
    jwk, private_key = jwkkit.load_jwk_from_pem(key_pem or django_settings.IDP_OIDC_PRIVATE_KEY)
    now = int(time.time())
    payload = {"iss": issuer, "sub": "g-123", "aud": "google-client", "iat": now, "exp": now + 300,
               "nonce": "n-1", "email": "ann@gmail.com", "email_verified": True, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, private_key, algorithm="RS256",
                      headers={"kid": jwk["kid"]})


@pytest.fixture
def google(tenant, issuer):
    return services.identity_provider_create(actor=Actor.operator(tenant=tenant), tenant=tenant, kind="google",
                                             display_name="Google", client_id="google-client",
                                             client_secret="google-secret")


def test_gmail_addresses_route_to_google_and_others_do_not(tenant, google):
    route = discover(tenant=tenant, email="ann@gmail.com").route
    assert route.kind == "google" and route.provider_id == str(google.pk)
    assert discover(tenant=tenant, email="ann@googlemail.com").route.kind == "google"
    assert discover(tenant=tenant, email="ann@proseware.example").route is None


def test_a_token_signed_by_the_issuer_for_this_client_is_accepted(google, issuer):
    metadata = oidc.fetch_metadata(oidc.metadata_url(google))
    claims = oidc.validate_id_token(_token(issuer), idp=google, metadata=metadata, nonce="n-1")
    assert claims["sub"] == "g-123" and claims["email_verified"] is True


@pytest.mark.parametrize(("claims", "reason"), [
    ({"aud": "someone-else"}, "not valid"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
    ({"iss": "https://evil.example"}, "another issuer"),
    ({"nonce": "replayed"}, "does not belong"),
    ({"nonce": None}, "does not belong"),
    ({"sub": None}, "not valid"),
])
def test_a_token_that_fails_a_check_is_refused_with_the_reason(google, issuer, claims, reason):
    metadata = oidc.fetch_metadata(oidc.metadata_url(google))
    with pytest.raises(oidc.OIDCError) as refused:
        oidc.validate_id_token(_token(issuer, **claims), idp=google, metadata=metadata, nonce="n-1")
    assert reason in refused.value.message


def test_a_token_signed_by_another_key_is_refused(google, issuer):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    metadata = oidc.fetch_metadata(oidc.metadata_url(google))
    forged = _token(issuer, key_pem=other)
    _header, payload, signature = forged.split(".")
    genuine_kid = _token(issuer).split(".")[0]
    with pytest.raises(oidc.OIDCError):
        oidc.validate_id_token(f"{genuine_kid}.{payload}.{signature}", idp=google, metadata=metadata, nonce="n-1")
    with pytest.raises(oidc.OIDCError):
        oidc.validate_id_token(forged, idp=google, metadata=metadata, nonce="n-1")


def test_microsofts_issuer_is_per_configured_tenant(tenant, issuer):
    idp = services.identity_provider_create(actor=Actor.operator(tenant=tenant), tenant=tenant, kind="microsoft",
                                            display_name="Contoso Entra", client_id="ms", client_secret="s",
                                            microsoft_tenant="contoso.example", domains=["contoso.example"])
    assert oidc.well_known_issuer(idp) == f"{issuer}/contoso.example"
    assert discover(tenant=tenant, email="bob@contoso.example").route.kind == "microsoft"


def test_begin_remembers_state_nonce_and_a_pkce_verifier_and_sends_to_the_issuer(client, tenant, google, issuer):
    response = client.get(f"/t/tailwind/federation/{google.pk}/begin/?next=/t/tailwind/")
    assert response.status_code == 200  # a page that moves on by itself (form-action 'self' stops a 302)
    url = response.context["url"]
    assert url.startswith(f"{issuer}/identity/o/authorize?")
    pending = next(iter(client.session[oidc.SESSION_KEY].values()))
    assert f"state={next(iter(client.session[oidc.SESSION_KEY]))}" in url
    assert f"nonce={pending['nonce']}" in url and "code_challenge_method=S256" in url
    assert pending["verifier"] not in url and pending["next"] == "/t/tailwind/"


def test_begin_never_sends_next_to_another_tenant_or_site(client, tenant, google, issuer):
    client.get(f"/t/tailwind/federation/{google.pk}/begin/?next=https://evil.example/")
    assert next(iter(client.session[oidc.SESSION_KEY].values()))["next"] == "/t/tailwind/"


def test_an_unknown_state_is_refused_with_a_page(client, tenant):
    response = client.get("/t/tailwind/federation/callback/?state=forged&code=x")
    assert response.status_code == 400 and "expired or was not started here" in response.content.decode()


def test_the_providers_refusal_reason_is_shown(client, tenant, google, issuer):
    client.get(f"/t/tailwind/federation/{google.pk}/begin/?next=/t/tailwind/")
    state = next(iter(client.session[oidc.SESSION_KEY]))
    response = client.get("/t/tailwind/federation/callback/", {
        "state": state, "error": "access_denied", "error_description": "Your organization does not allow this."})
    assert response.status_code == 403
    assert "Your organization does not allow this." in response.content.decode()
    # The state was used once.
    again = client.get("/t/tailwind/federation/callback/", {"state": state, "code": "x"})
    assert again.status_code == 400


def test_another_tenants_provider_cannot_be_begun_here(client, tenant, google):
    from tests.factories import TenantFactory

    TenantFactory(slug="contoso")
    assert client.get(f"/t/contoso/federation/{google.pk}/begin/").status_code == 404
    assert IdentityProvider.objects.count() == 1


def test_an_unreachable_provider_is_a_page_not_an_error(client, tenant, settings):
    idp = services.identity_provider_create(
        actor=Actor.operator(tenant=tenant), tenant=tenant, kind="oidc", display_name="Down", client_id="c",
        client_secret="s", metadata_url="http://127.0.0.1:9/.well-known/openid-configuration", domains=["down.example"])
    settings.FEDERATION_HTTP_TIMEOUT = 1
    response = client.get(f"/t/tailwind/federation/{idp.pk}/begin/")
    assert response.status_code == 502 and "cannot be reached" in response.content.decode()


def test_any_work_account_is_checked_against_the_issuer_of_its_own_tenant(tenant, issuer):
    idp = services.identity_provider_create(actor=Actor.operator(tenant=tenant), tenant=tenant, kind="microsoft",
                                            display_name="Work accounts", client_id="google-client",
                                            client_secret="s", domains=["fabrikam.example"])
    metadata = {"issuer": f"{issuer}/organizations", "jwks_uri": f"{issuer}/.well-known/jwks.json"}
    tid = "9188040d-6c67-4c5b-b112-36a304b66dad"
    claims = oidc.validate_id_token(_token(f"{issuer}/{tid}", tid=tid), idp=idp, metadata=metadata, nonce="n-1")
    assert claims["tid"] == tid
    with pytest.raises(oidc.OIDCError):
        oidc.validate_id_token(_token(f"{issuer}/{tid}", tid="another"), idp=idp, metadata=metadata, nonce="n-1")


def test_the_redemption_order_reads_a_tenants_providers_once_whatever_their_number(tenant, issuer,
                                                                                   django_assert_max_num_queries):
    for n in range(12):
        services.identity_provider_create(actor=Actor.operator(tenant=tenant), tenant=tenant, kind="oidc",
                                          display_name=f"SSO {n}", client_id="c", client_secret="s",
                                          metadata_url=f"https://sso{n}.example/.well-known/openid-configuration",
                                          domains=[f"org{n}.example"])
    from directory.models import Tenant

    fresh = Tenant.objects.get(pk=tenant.pk)
    # The order (1), the home-tenant check (1: no such account), the SAML domain federations (1: they come
    # first), the providers (1), the OTP setting (1).
    with django_assert_max_num_queries(5):
        assert discover(tenant=fresh, email="ann@nowhere.example").route is None
    fresh = Tenant.objects.get(pk=tenant.pk)
    with django_assert_max_num_queries(4):
        assert discover(tenant=fresh, email="ann@org11.example").route.label == "SSO 11"
