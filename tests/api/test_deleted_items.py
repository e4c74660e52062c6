"""/directory/deletedItems: deleted users (list, get, restore, permanent delete); groups are deleted
for good, so their deleted items are always empty."""

import datetime

import pytest
from django.utils import timezone

from directory.models import AuditEvent, User
from tests.api.contract import EndpointContract
from tests.factories import GroupFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTUAL = {"HTTP_CONSISTENCYLEVEL": "eventual"}


def deleted_user(tenant, **kwargs) -> User:
    return UserFactory(tenant=tenant, deleted_at=timezone.now() - datetime.timedelta(days=1), **kwargs)


# --- the access contract -------------------------------------------------------------------------


def _contract(name: str, base: type, **attrs) -> None:
    globals()[name] = type(name, (base,), attrs)


for _i, _cast in enumerate(("microsoft.graph.user", "graph.user")):
    _contract(f"TestListDeletedUsers{_i}", EndpointContract, route=f"directory/deletedItems/{_cast}",
              permission="User.Read.All")
    _contract(f"TestCountDeletedUsers{_i}", EndpointContract, route=f"directory/deletedItems/{_cast}/$count",
              permission="User.Read.All",
              call=lambda self, client, tenant, target: client.get(self.url(target), **EVENTUAL))
    _contract(f"TestGetDeletedUserCast{_i}", EndpointContract,
              route=f"directory/deletedItems/<str:deleted_id>/{_cast}", permission="User.Read.All",
              guest_status=404, make_target=lambda self, tenant: {"deleted_id": deleted_user(tenant).pk})
for _i, _cast in enumerate(("microsoft.graph.group", "graph.group")):
    _contract(f"TestListDeletedGroups{_i}", EndpointContract, route=f"directory/deletedItems/{_cast}",
              permission="Group.Read.All")


class TestGetDeletedItem(EndpointContract):
    route = "directory/deletedItems/<str:deleted_id>"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        return {"deleted_id": deleted_user(tenant).pk}


class TestDeleteDeletedItem(TestGetDeletedItem):
    method = "delete"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403


class TestRestoreDeletedItem(TestGetDeletedItem):
    route = "directory/deletedItems/<str:deleted_id>/restore"
    method = "post"
    permission = "User.ReadWrite.All"
    guest_status = 403

    def body(self, tenant, target):
        return {}


# --- behaviour -----------------------------------------------------------------------------------


@pytest.fixture
def admin_api(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All"]))


def test_a_deleted_user_is_listed_restored_and_back_in_users(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant, display_name="Ann")
    UserFactory(tenant=api_tenant)
    deleted_user(TenantFactory())  # another tenant's
    assert admin_api.delete(f"/v1.0/users/{ann.pk}").status_code == 204

    listed = admin_api.get("/v1.0/directory/deletedItems/microsoft.graph.user").json()
    assert [u["id"] for u in listed["value"]] == [str(ann.pk)]
    assert listed["value"][0]["@odata.type"] == "#microsoft.graph.user"
    assert listed["value"][0]["deletedDateTime"].endswith("Z")
    assert admin_api.get("/v1.0/directory/deletedItems/graph.user/$count", **EVENTUAL).content == b"1"
    one = admin_api.get(f"/v1.0/directory/deletedItems/{ann.pk}").json()
    assert one["displayName"] == "Ann"
    assert admin_api.get(f"/v1.0/users/{ann.pk}").status_code == 404
    since = f"{timezone.now() - datetime.timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    filtered = admin_api.get(f"/v1.0/directory/deletedItems/microsoft.graph.user?$filter=deletedDateTime ge {since}"
                             "&$orderby=deletedDateTime desc&$select=id,deletedDateTime")
    assert [u["id"] for u in filtered.json()["value"]] == [str(ann.pk)]

    restored = admin_api.post(f"/v1.0/directory/deletedItems/{ann.pk}/restore")
    assert restored.status_code == 200, restored.content
    assert restored.json()["id"] == str(ann.pk) and restored.json()["@odata.type"] == "#microsoft.graph.user"
    assert restored.json()["deletedDateTime"] is None
    assert admin_api.get(f"/v1.0/users/{ann.pk}").status_code == 200
    assert admin_api.get("/v1.0/directory/deletedItems/microsoft.graph.user").json()["value"] == []
    assert admin_api.post(f"/v1.0/directory/deletedItems/{ann.pk}/restore").status_code == 404
    assert AuditEvent.objects.filter(activity_display_name="Restore user").count() == 1


def test_a_deleted_user_is_removed_for_good_and_audited(api_tenant, admin_api):
    ann = deleted_user(api_tenant)
    assert admin_api.delete(f"/v1.0/directory/deletedItems/{ann.pk}").status_code == 204
    assert not User.objects.filter(pk=ann.pk).exists()
    event = AuditEvent.objects.get(activity_display_name="Hard delete user")
    assert event.target_resources[0]["id"] == str(ann.pk)
    assert admin_api.delete(f"/v1.0/directory/deletedItems/{ann.pk}").status_code == 404


def test_an_active_user_is_not_a_deleted_item(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant)
    assert admin_api.get(f"/v1.0/directory/deletedItems/{ann.pk}").status_code == 404
    assert admin_api.delete(f"/v1.0/directory/deletedItems/{ann.pk}").status_code == 404
    assert admin_api.post(f"/v1.0/directory/deletedItems/{ann.pk}/restore").status_code == 404
    assert admin_api.get("/v1.0/directory/deletedItems/not-a-guid").status_code == 404
    assert User.objects.filter(pk=ann.pk, deleted_at__isnull=True).exists()


def test_restore_after_the_30_days_is_a_400(api_tenant, admin_api):
    old = UserFactory(tenant=api_tenant, deleted_at=timezone.now() - datetime.timedelta(days=31))
    response = admin_api.post(f"/v1.0/directory/deletedItems/{old.pk}/restore", {}, format="json")
    assert response.status_code == 400
    assert "30 days" in response.json()["error"]["message"]


def test_a_deleted_group_is_gone_so_deleted_groups_are_empty(api_tenant, app_token_for, api):
    client = api(app_token_for(api_tenant, ["Group.ReadWrite.All"]))
    group = GroupFactory(tenant=api_tenant)
    assert client.delete(f"/v1.0/groups/{group.pk}").status_code == 204
    for cast in ("microsoft.graph.group", "graph.group"):
        body = client.get(f"/v1.0/directory/deletedItems/{cast}").json()
        assert body["value"] == [] and body["@odata.context"].endswith("$metadata#groups")
