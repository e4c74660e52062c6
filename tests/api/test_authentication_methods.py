"""/users/{id}/authentication/methods and …/softwareOathMethods (UserAuthenticationMethod.ReadWrite.All):
an admin's app lists a user's methods in this tenant and removes an authenticator app (audited)."""

import pytest
from django_otp.oath import totp

from directory.actors import Actor
from directory.models import AuditEvent, AuthenticationMethod
from directory.services import backup_codes_create, totp_register
from directory.services.mfa import totp_new_key
from tests.api.contract import EndpointContract
from tests.factories import AccountFactory, GuestFactory, TenantFactory

pytestmark = pytest.mark.django_db
PERMISSION = "UserAuthenticationMethod.ReadWrite.All"


def guest_with_methods(tenant):
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    key = totp_new_key()
    method = totp_register(actor=Actor.for_user(guest), user=guest, key=key,
                           token=f"{totp(bytes.fromhex(key), drift=-1):06d}")
    backup_codes_create(actor=Actor.for_user(guest), user=guest)
    return guest, method


class _Contract(EndpointContract):
    permission = PERMISSION
    guest_status = 403
    member_status = 403  # only the Global Administrator manages other people's methods (directory/authz.py)


class TestListMethods(_Contract):
    route = "users/<str:user_id>/authentication/methods"

    def make_target(self, tenant):
        return {"user_id": guest_with_methods(tenant)[0].pk}


class TestListSoftwareOathMethods(_Contract):
    route = "users/<str:user_id>/authentication/softwareOathMethods"

    def make_target(self, tenant):
        return {"user_id": guest_with_methods(tenant)[0].pk}


class TestGetSoftwareOathMethod(_Contract):
    route = "users/<str:user_id>/authentication/softwareOathMethods/<str:method_id>"

    def make_target(self, tenant):
        guest, method = guest_with_methods(tenant)
        return {"user_id": guest.pk, "method_id": method.pk}


class TestDeleteSoftwareOathMethod(TestGetSoftwareOathMethod):
    method = "delete"
    ok_status = 204


def test_an_app_lists_and_removes_a_users_methods(api_tenant, app_token_for, api):
    guest, method = guest_with_methods(api_tenant)
    elsewhere, _other = guest_with_methods(TenantFactory())
    client = api(app_token_for(api_tenant, [PERMISSION]))
    body = client.get(f"/v1.0/users/{guest.pk}/authentication/methods").json()
    assert sorted(m["@odata.type"] for m in body["value"]) == [
        "#microsoft.graph.authenticationMethod", "#microsoft.graph.softwareOathAuthenticationMethod"]
    oath = client.get(f"/v1.0/users/{guest.pk}/authentication/softwareOathMethods").json()["value"]
    assert [m["id"] for m in oath] == [str(method.pk)] and oath[0]["secretKey"] is None
    assert client.get(f"/v1.0/users/{elsewhere.pk}/authentication/methods").status_code == 404
    assert client.delete(f"/v1.0/users/{guest.pk}/authentication/softwareOathMethods/{method.pk}").status_code == 204
    assert not AuthenticationMethod.objects.filter(pk=method.pk).exists()
    assert AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Admin deleted security info").exists()
    assert client.get(f"/v1.0/users/{guest.pk}/authentication/softwareOathMethods/{method.pk}").status_code == 404
