"""/v1.0/policies/crossTenantAccessPolicy: the default, resetToSystemDefault and partners."""

import pytest

from directory.models import AuditEvent
from policies.models import CrossTenantAccessDefault, CrossTenantAccessPartner
from policies.models.cross_tenant import b2b_setting
from tests.api.contract import EndpointContract
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db
BASE = "/v1.0/policies/crossTenantAccessPolicy"
BLOCK_ALL = b2b_setting("blocked")


class _Contract(EndpointContract):
    permission = "Policy.Read.All"
    guest_status = 403


class _Write(_Contract):
    permission = "Policy.ReadWrite.CrossTenantAccess"
    other_permission = "Policy.Read.All"
    ok_status = 204


class TestGetCrossTenantAccessPolicy(_Contract):
    route = "policies/crossTenantAccessPolicy"


class TestGetDefault(_Contract):
    route = "policies/crossTenantAccessPolicy/default"


class TestPatchDefault(_Write):
    route = "policies/crossTenantAccessPolicy/default"
    method = "patch"

    def body(self, tenant, target):
        return {"inboundTrust": {"isMfaAccepted": True}}


class TestResetDefault(_Write):
    route = "policies/crossTenantAccessPolicy/default/resetToSystemDefault"
    method = "post"


class TestListPartners(_Contract):
    route = "policies/crossTenantAccessPolicy/partners"


class TestCreatePartner(_Write):
    route = "policies/crossTenantAccessPolicy/partners"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return {"tenantId": str(TenantFactory().pk), "b2bCollaborationInbound": BLOCK_ALL}


def _partner(tenant) -> dict:
    partner = CrossTenantAccessPartner.objects.create(tenant=tenant, partner_tenant_id=TenantFactory().pk)
    return {"tenant_id": str(partner.partner_tenant_id)}


class TestGetPartner(_Contract):
    route = "policies/crossTenantAccessPolicy/partners/<str:tenant_id>"

    def make_target(self, tenant):
        return _partner(tenant)


class TestPatchPartner(_Write):
    route = "policies/crossTenantAccessPolicy/partners/<str:tenant_id>"
    method = "patch"

    def make_target(self, tenant):
        return _partner(tenant)

    def body(self, tenant, target):
        return {"inboundTrust": {"isMfaAccepted": True}}


class TestDeletePartner(_Write):
    route = "policies/crossTenantAccessPolicy/partners/<str:tenant_id>"
    method = "delete"

    def make_target(self, tenant):
        return _partner(tenant)


def test_default_reads_as_graph_shows_the_service_default(api, app_token_for):
    tenant = TenantFactory()
    body = api(app_token_for(tenant, ["Policy.Read.All"])).get(f"{BASE}/default").json()
    assert body["isServiceDefault"] is True
    assert body["b2bCollaborationInbound"] == b2b_setting("allowed")
    assert body["b2bDirectConnectOutbound"] == b2b_setting("blocked")
    assert body["inboundTrust"]["isMfaAccepted"] is False
    assert body["invitationRedemptionIdentityProviderConfiguration"]["fallbackIdentityProvider"] == \
        "defaultConfiguredIdp"


def test_patch_default_then_reset(api, app_token_for):
    tenant = TenantFactory()
    client = api(app_token_for(tenant, ["Policy.ReadWrite.CrossTenantAccess"]))
    assert client.patch(f"{BASE}/default", {"b2bCollaborationOutbound": BLOCK_ALL}, format="json").status_code == 204
    body = client.get(f"{BASE}/default").json()
    assert body["b2bCollaborationOutbound"] == BLOCK_ALL and body["isServiceDefault"] is False
    assert client.post(f"{BASE}/default/resetToSystemDefault").status_code == 204
    assert CrossTenantAccessDefault.objects.get(tenant=tenant).is_service_default
    assert AuditEvent.objects.filter(tenant=tenant, category="CrossTenantAccessSettings").count() == 2


def test_blocking_all_users_but_not_all_apps_is_a_400_with_the_reason(api, app_token_for):
    tenant = TenantFactory()
    client = api(app_token_for(tenant, ["Policy.ReadWrite.CrossTenantAccess"]))
    setting = {"usersAndGroups": BLOCK_ALL["usersAndGroups"], "applications": b2b_setting()["applications"]}
    response = client.patch(f"{BASE}/default", {"b2bCollaborationInbound": setting}, format="json")
    assert response.status_code == 400
    assert "requires blocking all applications" in response.json()["error"]["message"]


def test_partner_create_read_inherit_and_delete(api, app_token_for):
    tenant, partner = TenantFactory(), TenantFactory()
    client = api(app_token_for(tenant, ["Policy.ReadWrite.CrossTenantAccess"]))
    created = client.post(f"{BASE}/partners", {"tenantId": str(partner.pk), "inboundTrust": {"isMfaAccepted": True}},
                          format="json")
    assert created.status_code == 201, created.content
    assert created.json()["tenantId"] == str(partner.pk) and created.json()["b2bCollaborationInbound"] is None
    again = client.post(f"{BASE}/partners", {"tenantId": str(partner.pk)}, format="json")
    assert again.status_code == 409
    listed = client.get(f"{BASE}/partners").json()["value"]
    assert [p["tenantId"] for p in listed] == [str(partner.pk)]
    url = f"{BASE}/partners/{partner.pk}"
    assert client.patch(url, {"inboundTrust": None}, format="json").status_code == 204
    assert client.get(url).json()["inboundTrust"] is None
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
