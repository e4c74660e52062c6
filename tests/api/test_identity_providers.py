"""/v1.0/identity/identityProviders: social (Google, Microsoft), OpenID Connect, partner deployment, and the
built-in e-mail one-time passcode; secrets write-only and encrypted; audited; scoped to the tenant."""

import pytest

from directory.models import AuditEvent
from policies.federation.secrets import decrypt_secret
from policies.models import IdentityProvider
from tests.api.contract import EndpointContract
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db
BASE = "/v1.0/identity/identityProviders"
READ, WRITE = "IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All"
GOOGLE = {"@odata.type": "#microsoft.graph.socialIdentityProvider", "identityProviderType": "Google",
          "displayName": "Google", "clientId": "google-client", "clientSecret": "google-secret-1"}
OIDC = {"@odata.type": "#microsoft.graph.oidcIdentityProvider", "displayName": "Proseware SSO",
        "clientId": "portal", "domains": ["proseware.example"], "responseType": "code",
        "clientAuthentication": {"@odata.type": "#microsoft.graph.oidcClientSecretAuthentication",
                                 "clientSecret": "oidc-secret-1"},
        "wellKnownEndpoint": "https://login.proseware.example/.well-known/openid-configuration"}
LEGACY_OIDC = {"@odata.type": "#microsoft.graph.openIdConnectIdentityProvider", "displayName": "Old SSO",
               "clientId": "portal", "clientSecret": "oidc-secret-2", "domains": ["old.example"],
               "metadataUrl": "https://login.old.example/.well-known/openid-configuration"}
DEPLOYMENT = {"@odata.type": "#microsoft.graph.partnerDeploymentIdentityProvider", "displayName": "Fabrikam portal",
              "clientId": "abc", "clientSecret": "deployment-secret", "domains": [{"id": "fabrikam.example"}],
              "issuer": "https://portal.fabrikam.example"}


def _idp(tenant) -> dict:
    idp = IdentityProvider.objects.create(tenant=tenant, kind="oidc", display_name="SSO", client_id="x",
                                          metadata_url="https://sso.example/.well-known/openid-configuration",
                                          domains=["sso.example"])
    return {"provider_id": str(idp.pk)}


class _Contract(EndpointContract):
    permission = READ
    guest_status = 403
    member_status = 403


class _Write(_Contract):
    permission = WRITE
    other_permission = READ
    ok_status = 204


class TestListIdentityProviders(_Contract):
    route = "identity/identityProviders"


class TestCreateIdentityProvider(_Write):
    route = "identity/identityProviders"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return dict(GOOGLE)


class TestGetIdentityProvider(_Contract):
    route = "identity/identityProviders/<str:provider_id>"

    def make_target(self, tenant):
        return _idp(tenant)


class TestPatchIdentityProvider(_Write):
    route = "identity/identityProviders/<str:provider_id>"
    method = "patch"

    def make_target(self, tenant):
        return _idp(tenant)

    def body(self, tenant, target):
        return {"displayName": "Renamed"}


class TestDeleteIdentityProvider(_Write):
    route = "identity/identityProviders/<str:provider_id>"
    method = "delete"

    def make_target(self, tenant):
        return _idp(tenant)


@pytest.fixture
def tenant():
    return TenantFactory()


@pytest.fixture
def writer(api, app_token_for, tenant):
    return api(app_token_for(tenant, [WRITE]))


def test_the_list_starts_with_the_built_in_email_one_time_passcode(writer):
    body = writer.get(BASE).json()
    assert body["value"][0] == {"@odata.type": "#microsoft.graph.builtInIdentityProvider", "id": "EmailOtpSignup-OAUTH",
                                "displayName": "Email One Time Passcode", "identityProviderType": "EmailOTP",
                                "state": "enabled"}


def _secret(body):
    return body.get("clientSecret") or body["clientAuthentication"]["clientSecret"]


@pytest.mark.parametrize("body", [GOOGLE, OIDC, DEPLOYMENT, LEGACY_OIDC], ids=["google", "oidc", "deployment", "legacy"])
def test_each_type_is_created_read_back_with_its_secret_hidden_and_stored_encrypted(writer, tenant, body):
    created = writer.post(BASE, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    expected_type = "#microsoft.graph.oidcIdentityProvider" if body is LEGACY_OIDC else body["@odata.type"]
    assert data["@odata.type"] == expected_type
    assert (data.get("clientSecret") or data["clientAuthentication"]["clientSecret"]) == "******"
    idp = IdentityProvider.objects.get(pk=data["id"])
    assert _secret(body) not in idp.client_secret_encrypted
    assert decrypt_secret(idp.client_secret_encrypted) == _secret(body)
    assert writer.get(f"{BASE}/{idp.pk}").json() == data
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Add identity provider")
    assert _secret(body) not in str(event.target_resources)


def test_google_routes_gmail_by_default(writer):
    data = writer.post(BASE, GOOGLE, format="json").json()
    assert data["domains"] == [] and data["identityProviderType"] == "Google"


def test_patch_changes_the_secret_without_ever_showing_it(writer, tenant):
    idp_id = writer.post(BASE, OIDC, format="json").json()["id"]
    assert writer.patch(f"{BASE}/{idp_id}", {"clientSecret": "rotated-secret"}, format="json").status_code == 204
    assert decrypt_secret(IdentityProvider.objects.get(pk=idp_id).client_secret_encrypted) == "rotated-secret"
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Update identity provider").exists()


@pytest.mark.parametrize(("body", "message"), [
    ({**OIDC, "wellKnownEndpoint": "http://sso.proseware.example/meta"}, "https://"),
    ({**OIDC, "clientAuthentication": {"@odata.type": "#microsoft.graph.oidcPrivateJwtKeyClientAuthentication"}},
     "not supported"),
    ({**OIDC, "domains": ["not a domain"]}, "is not a domain"),
    ({**OIDC, "domains": []}, "at least one domain"),
    ({**OIDC, "scope": "email"}, "openid"),
    ({**GOOGLE, "identityProviderType": "Facebook"}, "must be Google"),
    ({**GOOGLE, "identityProviderType": "OpenIDConnect"}, "Google or Microsoft"),
    ({**GOOGLE, "metadataUrl": "https://x.example"}, "does not exist"),
    ({**OIDC, "displayName": "a\x00b"}, "NUL"),
    ({"@odata.type": "#microsoft.graph.builtInIdentityProvider", "displayName": "x"}, "cannot be added"),
])
def test_invalid_bodies_are_a_400_with_the_reason(writer, body, message):
    response = writer.post(BASE, body, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not IdentityProvider.objects.exists()


def test_a_domain_routes_to_one_provider_only(writer):
    assert writer.post(BASE, OIDC, format="json").status_code == 201
    response = writer.post(BASE, {**DEPLOYMENT, "domains": ["proseware.example"]}, format="json")
    assert response.status_code == 409


def test_another_tenants_provider_is_not_found(api, app_token_for, writer):
    idp_id = writer.post(BASE, OIDC, format="json").json()["id"]
    other = api(app_token_for(TenantFactory(), [WRITE]))
    assert other.get(f"{BASE}/{idp_id}").status_code == 404
    assert other.delete(f"{BASE}/{idp_id}").status_code == 404
    assert IdentityProvider.objects.filter(pk=idp_id).exists()


def test_the_built_in_provider_is_read_only(writer):
    assert writer.get(f"{BASE}/EmailOtpSignup-OAUTH").json()["identityProviderType"] == "EmailOTP"
    assert writer.patch(f"{BASE}/EmailOtpSignup-OAUTH", {"displayName": "x"}, format="json").status_code == 400
    assert writer.delete(f"{BASE}/EmailOtpSignup-OAUTH").status_code == 400


def test_a_domain_of_an_organization_on_this_platform_is_refused(writer):
    TenantFactory(initial_domain="contoso.example")
    response = writer.post(BASE, {**OIDC, "domains": ["contoso.example"]}, format="json")
    assert response.status_code == 400
    assert "belongs to an organization on this platform" in response.json()["error"]["message"]
