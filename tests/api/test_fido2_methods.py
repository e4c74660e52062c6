"""/users/{id}/authentication/fido2Methods (UserAuthenticationMethod.ReadWrite.All): an admin's app lists a
user's passkeys in this tenant (also under …/methods as fido2AuthenticationMethod) and revokes one (audited)."""

from urllib.parse import quote

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from directory.models import AuditEvent
from tests.api.contract import EndpointContract
from tests.directory.test_passkeys import _guest, _with_passkey

pytestmark = pytest.mark.django_db
PERMISSION = "UserAuthenticationMethod.ReadWrite.All"


def guest_with_passkey(tenant):
    guest = _guest(tenant)
    method, _authenticator = _with_passkey(guest)
    return guest, method


class _Contract(EndpointContract):
    permission = PERMISSION
    guest_status = 403
    member_status = 403


class TestListFido2Methods(_Contract):
    route = "users/<str:user_id>/authentication/fido2Methods"

    def make_target(self, tenant):
        return {"user_id": guest_with_passkey(tenant)[0].pk}


class TestGetFido2Method(_Contract):
    route = "users/<str:user_id>/authentication/fido2Methods/<str:method_id>"

    def make_target(self, tenant):
        guest, method = guest_with_passkey(tenant)
        return {"user_id": guest.pk, "method_id": method.pk}


class TestDeleteFido2Method(TestGetFido2Method):
    method = "delete"
    ok_status = 204


def test_an_app_lists_and_revokes_a_users_passkey(api_tenant, app_token_for, api):
    guest, method = guest_with_passkey(api_tenant)
    client = api(app_token_for(api_tenant, [PERMISSION]))
    listed = client.get(f"/v1.0/users/{guest.pk}/authentication/methods").json()["value"]
    assert [m["@odata.type"] for m in listed] == ["#microsoft.graph.fido2AuthenticationMethod"]
    fido2 = client.get(f"/v1.0/users/{guest.pk}/authentication/fido2Methods/{method.pk}").json()
    assert fido2["displayName"] == "My key" and fido2["attestationLevel"] == "notAttested"
    assert client.get(f"/v1.0/users/{guest.pk}/authentication/softwareOathMethods/{method.pk}").status_code == 404
    assert client.delete(f"/v1.0/users/{guest.pk}/authentication/fido2Methods/{method.pk}").status_code == 204
    assert not WebAuthnCredential.objects.filter(user=guest.account).exists()
    assert AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Admin deleted security info").exists()


@pytest.mark.parametrize("kind", ["fido2Methods", "softwareOathMethods"])
def test_a_method_key_with_an_at_sign_is_a_graph_404_and_the_user_may_be_named_by_upn(
        api_tenant, app_token_for, api, kind):
    guest, method = guest_with_passkey(api_tenant)
    client = api(app_token_for(api_tenant, [PERMISSION]))
    response = client.get(f"/v1.0/users/{guest.pk}/authentication/{kind}/someone@example.com")
    assert response.status_code == 404 and response.json()["error"]["code"] == "Request_ResourceNotFound"
    by_upn = client.get(f"/v1.0/users/{quote(guest.user_principal_name)}/authentication/fido2Methods/{method.pk}")
    assert by_upn.status_code == 200 and by_upn.json()["id"] == str(method.pk)
    assert client.get("/v1.0/users/nobody@example.com/authentication/methods").status_code == 404
