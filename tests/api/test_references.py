"""GET …/$ref on every navigation that takes $ref writes (group members and owners, user sponsors and
manager), DELETE owners/$ref?$id=, and deletedItems/microsoft.graph.group/$count."""

import pytest

from directory.models import AuditEvent
from tests.api.contract import EndpointContract
from tests.factories import GroupFactory, GuestFactory, UserFactory

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.microsoft.com/v1.0"
EVENTUAL = {"HTTP_CONSISTENCYLEVEL": "eventual"}


def _group_with(relation: str):
    def make_target(self, tenant):
        group = GroupFactory(tenant=tenant)
        getattr(group, relation).add(UserFactory(tenant=tenant))
        return {"group_id": group.pk}
    return make_target


# --- the access contract of every new route (the same as the plain navigation's) -----------------


class TestListMemberRefs(EndpointContract):
    route = "groups/<str:group_id>/members/$ref"
    permission = "GroupMember.Read.All"
    guest_status = 404
    make_target = _group_with("members")


class TestListOwnerRefs(EndpointContract):
    route = "groups/<str:group_id>/owners/$ref"
    permission = "Group.Read.All"
    guest_status = 404
    make_target = _group_with("owners")


class TestRemoveOwnerRefByUrl(EndpointContract):
    route = "groups/<str:group_id>/owners/$ref"
    method = "delete"
    permission = "Group.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        group, user = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
        group.owners.add(user)
        return {"group_id": group.pk, "owner": user}

    def call(self, client, tenant, target):
        return client.delete(f"/v1.0/groups/{target['group_id']}/owners/$ref?@id={GRAPH}/users/{target['owner'].pk}")


class TestListSponsorRefs(EndpointContract):
    route = "users/<str:user_id>/sponsors/$ref"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        guest = GuestFactory(tenant=tenant)
        guest.sponsors.add(UserFactory(tenant=tenant))
        return {"user_id": guest.pk}


class TestGetManagerRef(EndpointContract):
    route = "users/<str:user_id>/manager/$ref"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant, manager=UserFactory(tenant=tenant)).pk}


for _i, _cast in enumerate(("microsoft.graph.group", "graph.group")):
    globals()[f"TestCountDeletedGroups{_i}"] = type(f"TestCountDeletedGroups{_i}", (EndpointContract,), {
        "route": f"directory/deletedItems/{_cast}/$count", "permission": "Group.Read.All",
        "call": lambda self, client, tenant, target: client.get(self.url(target), **EVENTUAL)})


# --- behaviour -----------------------------------------------------------------------------------


@pytest.fixture
def reader(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Directory.ReadWrite.All"]))


def url_of(response, obj) -> str:
    return f"http://testserver/v1.0/users/{obj.pk}"


def test_member_refs_are_urls_of_the_members_paged_by_top(api_tenant, reader):
    group = GroupFactory(tenant=api_tenant)
    members = [UserFactory(tenant=api_tenant, display_name=f"Member {i}") for i in range(3)]
    group.members.add(*members)
    GroupFactory(tenant=api_tenant).members.add(UserFactory(tenant=api_tenant))  # another group's member

    first = reader.get(f"/v1.0/groups/{group.pk}/members/$ref?$top=2")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#directoryObjects")
    assert body["value"] == [{"@odata.id": url_of(first, m)} for m in members[:2]]
    second = reader.get(body["@odata.nextLink"])
    assert second.json()["value"] == [{"@odata.id": url_of(second, members[2])}]
    assert "@odata.nextLink" not in second.json()


def test_a_reference_is_accepted_back_by_the_ref_writes(api_tenant, reader):
    """What GET …/$ref names can be sent as it is to DELETE …/$ref?$id= and POST …/$ref."""
    group, ann = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    group.members.add(ann)
    reference = reader.get(f"/v1.0/groups/{group.pk}/members/$ref").json()["value"][0]["@odata.id"]

    assert reader.delete(f"/v1.0/groups/{group.pk}/members/$ref?$id={reference}").status_code == 204
    assert list(group.members.all()) == []
    assert reader.post(f"/v1.0/groups/{group.pk}/members/$ref", {"@odata.id": reference},
                       format="json").status_code == 204
    assert reader.get(reference).json()["id"] == str(ann.pk)  # the URL answers a GET too


def test_owner_refs_listed_and_one_removed_by_url(api_tenant, reader):
    group = GroupFactory(tenant=api_tenant)
    ann, bob = UserFactory(tenant=api_tenant, display_name="Ann"), UserFactory(tenant=api_tenant, display_name="Bob")
    group.owners.add(ann, bob)

    listed = reader.get(f"/v1.0/groups/{group.pk}/owners/$ref")
    assert [v["@odata.id"] for v in listed.json()["value"]] == [url_of(listed, ann), url_of(listed, bob)]
    removed = reader.delete(f"/v1.0/groups/{group.pk}/owners/$ref?$id={GRAPH}/directoryObjects/{bob.pk}")
    assert removed.status_code == 204
    assert list(group.owners.all()) == [ann]
    assert AuditEvent.objects.filter(activity_display_name="Remove owner from group").count() == 1
    again = reader.delete(f"/v1.0/groups/{group.pk}/owners/$ref?$id={GRAPH}/directoryObjects/{bob.pk}")
    assert again.status_code == 404
    assert reader.delete(f"/v1.0/groups/{group.pk}/owners/$ref").status_code == 400  # no $id


def test_sponsor_refs_count_and_filter_like_the_list(api_tenant, reader):
    guest = GuestFactory(tenant=api_tenant)
    ann, bob = UserFactory(tenant=api_tenant, display_name="Ann"), UserFactory(tenant=api_tenant, display_name="Bob")
    guest.sponsors.add(ann, bob)

    response = reader.get(f"/v1.0/users/{guest.pk}/sponsors/$ref?$count=true&$filter=startswith(displayName,'b')",
                          **EVENTUAL)
    assert response.status_code == 200, response.content
    assert response.json()["@odata.count"] == 1
    assert response.json()["value"] == [{"@odata.id": url_of(response, bob)}]


def test_manager_ref_names_the_manager_or_is_404(api_tenant, reader):
    boss = UserFactory(tenant=api_tenant)
    ann, loner = UserFactory(tenant=api_tenant, manager=boss), UserFactory(tenant=api_tenant)

    response = reader.get(f"/v1.0/users/{ann.pk}/manager/$ref")
    assert response.status_code == 200
    assert response.json()["@odata.id"] == url_of(response, boss)
    assert response.json()["@odata.context"].endswith("/v1.0/$metadata#directoryObjects/$entity")
    missing = reader.get(f"/v1.0/users/{loner.pk}/manager/$ref")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize("query", ["$select=id", "$expand=manager"])
def test_a_reference_has_no_properties_to_select_or_expand(api_tenant, reader, query):
    group = GroupFactory(tenant=api_tenant)
    user = UserFactory(tenant=api_tenant, manager=UserFactory(tenant=api_tenant))
    for url in (f"/v1.0/groups/{group.pk}/members/$ref", f"/v1.0/users/{user.pk}/manager/$ref"):
        response = reader.get(f"{url}?{query}")
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_member_refs_cost_a_fixed_number_of_queries(api_tenant, reader, django_assert_max_num_queries):
    group = GroupFactory(tenant=api_tenant)
    reader.get(f"/v1.0/groups/{group.pk}/members/$ref")  # warm the token and permission lookups
    group.members.add(*UserFactory.create_batch(30, tenant=api_tenant))
    with django_assert_max_num_queries(12):
        response = reader.get(f"/v1.0/groups/{group.pk}/members/$ref?$top=25")
    assert len(response.json()["value"]) == 25


def test_deleted_groups_count_is_zero(api_tenant, reader):
    GroupFactory(tenant=api_tenant)
    response = reader.get("/v1.0/directory/deletedItems/microsoft.graph.group/$count", **EVENTUAL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and response.content == b"0"
    assert reader.get("/v1.0/directory/deletedItems/microsoft.graph.group/$count").status_code == 400
