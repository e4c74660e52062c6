"""/groups, /groups/{id}, members and owners with $ref."""

import datetime

import pytest
from django.utils import timezone

from directory.actors import Actor
from directory.models import AuditEvent, Group, Role, User
from policies import services as policy_services
from tests.api.contract import EndpointContract
from tests.factories import AccountFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.microsoft.com/v1.0"
SAME_AS_MEMBERS = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b"


def ref(user) -> dict:
    return {"@odata.id": f"{GRAPH}/directoryObjects/{user.pk}"}


def new_group_body(**extra) -> dict:
    return {"displayName": "Engineering", "mailNickname": "engineering", "mailEnabled": False,
            "securityEnabled": True, **extra}


# --- the access contract of every route -------------------------------------------------------


class TestListGroups(EndpointContract):
    route = "groups"
    permission = "Group.Read.All"


class TestCreateGroup(EndpointContract):
    route = "groups"
    method = "post"
    permission = "Group.ReadWrite.All"
    ok_status = 201
    guest_status = 403
    member_status = 403  # members may not create groups (authorizationPolicy allowedToCreateSecurityGroups: false)

    def body(self, tenant, target):
        return new_group_body()


class TestGetGroup(EndpointContract):
    route = "groups/<str:group_id>"
    permission = "Group.Read.All"
    guest_status = 404  # a limited guest sees only the groups it belongs to

    def make_target(self, tenant):
        return {"group_id": GroupFactory(tenant=tenant).pk}


class TestPatchGroup(EndpointContract):
    route = "groups/<str:group_id>"
    method = "patch"
    permission = "Group.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        return {"group_id": GroupFactory(tenant=tenant).pk}

    def body(self, tenant, target):
        return {"description": "Builds things"}


class TestDeleteGroup(EndpointContract):
    route = "groups/<str:group_id>"
    method = "delete"
    permission = "Group.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        return {"group_id": GroupFactory(tenant=tenant).pk}


class TestListMembers(EndpointContract):
    route = "groups/<str:group_id>/members"
    permission = "GroupMember.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        group = GroupFactory(tenant=tenant)
        group.members.add(UserFactory(tenant=tenant))
        return {"group_id": group.pk}


class TestAddMemberRef(EndpointContract):
    route = "groups/<str:group_id>/members/$ref"
    method = "post"
    permission = "GroupMember.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        return {"group_id": GroupFactory(tenant=tenant).pk, "user": UserFactory(tenant=tenant)}

    def body(self, tenant, target):
        return ref(target["user"])


class TestRemoveMemberRef(EndpointContract):
    route = "groups/<str:group_id>/members/<str:member_id>/$ref"
    method = "delete"
    permission = "GroupMember.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        group, user = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
        group.members.add(user)
        return {"group_id": group.pk, "member_id": user.pk}


class TestListOwners(EndpointContract):
    route = "groups/<str:group_id>/owners"
    permission = "Group.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        group = GroupFactory(tenant=tenant)
        group.owners.add(UserFactory(tenant=tenant))
        return {"group_id": group.pk}


class TestAddOwnerRef(EndpointContract):
    route = "groups/<str:group_id>/owners/$ref"
    method = "post"
    permission = "Group.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        return {"group_id": GroupFactory(tenant=tenant).pk, "user": UserFactory(tenant=tenant)}

    def body(self, tenant, target):
        return ref(target["user"])


class TestRemoveOwnerRef(EndpointContract):
    route = "groups/<str:group_id>/owners/<str:owner_id>/$ref"
    method = "delete"
    permission = "Group.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        group, user = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
        group.owners.add(user)
        return {"group_id": group.pk, "owner_id": user.pk}


# --- create, update, delete -------------------------------------------------------------------


def test_create_group_with_graphs_required_fields_and_bound_members(api_tenant, app_token_for, api):
    ann, bob = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["Group.ReadWrite.All"]))
    response = client.post("/v1.0/groups", new_group_body(
        description="Builds things", groupTypes=[], visibility="Public",
        **{"@odata.type": "#microsoft.graph.group",
           "members@odata.bind": [f"{GRAPH}/directoryObjects/{ann.pk}", f"{GRAPH}/users('{bob.pk}')"],
           "owners@odata.bind": [f"{GRAPH}/users/{ann.pk}"]}), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    group = Group.objects.get(tenant=api_tenant)
    assert response["Location"].endswith(f"/v1.0/groups/{group.pk}")
    assert body["@odata.context"].endswith("/v1.0/$metadata#groups/$entity")
    assert body == {**body, "id": str(group.pk), "displayName": "Engineering", "description": "Builds things",
                    "securityEnabled": True, "mailEnabled": False, "groupTypes": [], "visibility": "Public"}
    assert group.members_can_join is True
    assert set(group.members.all()) == {ann, bob} and list(group.owners.all()) == [ann]
    [event] = AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Add group")
    assert event.target_resources[0]["id"] == str(group.pk)


def test_a_delegated_creator_becomes_the_owner(api_tenant, api, delegated_token_for):
    admin = admin_of(api_tenant, Role.GROUPS_ADMINISTRATOR)
    client = api(delegated_token_for(admin, ["Group.ReadWrite.All"]))
    response = client.post("/v1.0/groups", new_group_body(), format="json")
    assert response.status_code == 201, response.content
    group = Group.objects.get(pk=response.json()["id"])
    assert list(group.owners.all()) == [admin]
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Add group")
    assert event.initiated_by["user"]["id"] == str(admin.pk)


def test_a_member_without_a_role_cannot_write_groups(api_tenant, api, delegated_token_for):
    member = UserFactory(tenant=api_tenant)
    group = GroupFactory(tenant=api_tenant)
    client = api(delegated_token_for(member, ["Group.ReadWrite.All", "Group.Read.All"]))
    assert client.get(f"/v1.0/groups/{group.pk}").status_code == 200
    assert client.post("/v1.0/groups", new_group_body(), format="json").status_code == 403
    assert client.patch(f"/v1.0/groups/{group.pk}", {"description": "x"}, format="json").status_code == 403
    assert client.post(f"/v1.0/groups/{group.pk}/members/$ref", ref(member), format="json").status_code == 403
    assert not group.members.exists()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"displayName": "X"}, "mailNickname"),  # Graph's required fields
        (new_group_body(mailNickname=None), "mailNickname"),
        (new_group_body(mailEnabled=True), "mailEnabled"),
        (new_group_body(securityEnabled=False), "securityEnabled"),
        (new_group_body(groupTypes=["Unified"]), "Unified"),
        (new_group_body(groupTypes="Unified"), "groupTypes"),
        (new_group_body(isAssignableToRole=True), "Role-assignable"),
        (new_group_body(visibility="HiddenMembership"), "visibility"),
        (new_group_body(mailNickname="has space"), "mailNickname"),
        (new_group_body(mailNickname="a@b"), "mailNickname"),
        (new_group_body(displayName=7), "displayName"),
        (new_group_body(displayName="   "), "displayName"),
        (new_group_body(displayName="x" * 257), "displayName"),
        (new_group_body(securityEnabled="yes"), "securityEnabled"),
        (new_group_body(description=["a"]), "description"),
        (new_group_body(isAdmin=True), "isAdmin"),
        (new_group_body(id="8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"), "id"),
        (new_group_body(**{"members@odata.bind": "not-a-list"}), "members@odata.bind"),
        (new_group_body(**{"members@odata.bind": ["nonsense"]}), "members@odata.bind"),
        (new_group_body(**{"members@odata.bind": [f"{GRAPH}/directoryObjects/not-a-guid"]}), "not-a-guid"),
        (new_group_body(**{"members@odata.bind": [f"{GRAPH}/users/{i:032x}" for i in range(21)]}), "members"),
        (new_group_body(**{"owners@odata.bind": [5]}), "owners@odata.bind"),
    ],
)
def test_create_group_bad_input_is_400(api_tenant, app_token_for, api, body, fragment):
    response = api(app_token_for(api_tenant, ["Group.ReadWrite.All"])).post("/v1.0/groups", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest" and fragment in error["message"]
    assert not Group.objects.filter(tenant=api_tenant).exists()


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b"{not json", "application/json"), (b"[1,2]", "application/json"), (b'{"displayName": Infinity}',
                                                                            "application/json"),
     (b"\xff\xfe", "application/json"), (b"", "application/json"),
     (b"displayName=x", "application/x-www-form-urlencoded")],
)
def test_malformed_group_bodies_are_400_or_415(api_tenant, app_token_for, api, raw, content_type):
    response = api(app_token_for(api_tenant, ["Group.ReadWrite.All"])).generic(
        "POST", "/v1.0/groups", raw, content_type=content_type)
    assert response.status_code in (400, 415), response.content
    assert "error" in response.json()
    assert not Group.objects.filter(tenant=api_tenant).exists()


def test_binding_another_tenants_user_is_404_and_creates_nothing(api_tenant, app_token_for, api):
    stranger = UserFactory(tenant=TenantFactory())
    response = api(app_token_for(api_tenant, ["Group.ReadWrite.All"])).post("/v1.0/groups", new_group_body(
        **{"members@odata.bind": [f"{GRAPH}/directoryObjects/{stranger.pk}"]}), format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert not Group.objects.filter(tenant=api_tenant).exists()
    assert not AuditEvent.objects.filter(activity_display_name="Add group").exists()


def test_patch_and_delete_group(api_tenant, app_token_for, api):
    group = GroupFactory(tenant=api_tenant, display_name="Old", description="text")
    client = api(app_token_for(api_tenant, ["Group.ReadWrite.All"]))
    response = client.patch(f"/v1.0/groups/{group.pk}", {"displayName": "New", "description": None,
                                                         "visibility": "Public", "mailNickname": "new"}, format="json")
    assert response.status_code == 204, response.content
    group.refresh_from_db()
    assert (group.display_name, group.description, group.members_can_join) == ("New", "", True)
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Update group")
    changed = {p["displayName"] for p in event.target_resources[0]["modifiedProperties"]}
    assert changed == {"display_name", "description", "members_can_join", "mail_nickname"}  # mailNickname is kept
    for bad in ({}, {"mailEnabled": True}, {"groupTypes": ["DynamicMembership"]}, {"displayName": None},
                {"securityEnabled": "true"}, {"createdDateTime": "2020-01-01T00:00:00Z"}, {"visibility": 3}):
        response = client.patch(f"/v1.0/groups/{group.pk}", bad, format="json")
        assert response.status_code == 400, (bad, response.content)
    assert client.delete(f"/v1.0/groups/{group.pk}").status_code == 204
    assert not Group.objects.filter(pk=group.pk).exists()
    assert AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Delete group").count() == 1
    assert client.get(f"/v1.0/groups/{group.pk}").status_code == 404
    assert client.delete(f"/v1.0/groups/{group.pk}").status_code == 404
    assert client.get("/v1.0/groups/not-a-guid").status_code == 404


def test_another_tenants_group_is_404_and_untouched(api, app_token_for):
    mine, other = TenantFactory(), TenantFactory()
    theirs = GroupFactory(tenant=other, display_name="Theirs")
    client = api(app_token_for(mine, ["Group.ReadWrite.All"]))
    assert client.get("/v1.0/groups").json()["value"] == []
    for response in (client.get(f"/v1.0/groups/{theirs.pk}"),
                     client.patch(f"/v1.0/groups/{theirs.pk}", {"displayName": "Mine"}, format="json"),
                     client.delete(f"/v1.0/groups/{theirs.pk}"),
                     client.get(f"/v1.0/groups/{theirs.pk}/members")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    theirs.refresh_from_db()
    assert theirs.display_name == "Theirs"


# --- list, filter, page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("startswith(displayName,'eng')", ["Engineering", "English"]),
        ("displayName eq 'SALES'", ["Sales"]),
        ("description eq null", ["English", "Sales"]),
        ("not(displayName eq 'Sales') and description ne null", ["Engineering"]),
        ("createdDateTime ge 2026-01-01T00:00:00Z", ["Engineering", "Sales"]),
    ],
)
def test_group_filters(api_tenant, app_token_for, api, query, names):
    GroupFactory(tenant=api_tenant, display_name="Engineering", description="Builds",
                 created_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
    GroupFactory(tenant=api_tenant, display_name="English", created_at=datetime.datetime(2025, 2, 1, tzinfo=datetime.UTC))
    GroupFactory(tenant=api_tenant, display_name="Sales", created_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC))
    response = api(app_token_for(api_tenant, ["Group.Read.All"])).get("/v1.0/groups", {"$filter": query})
    assert response.status_code == 200, response.content
    assert [g["displayName"] for g in response.json()["value"]] == names


def test_group_select_orderby_and_id_in(api_tenant, app_token_for, api):
    a, _b, c = (GroupFactory(tenant=api_tenant, display_name=n) for n in ("A", "B", "C"))
    client = api(app_token_for(api_tenant, ["Group.Read.All"]))
    body = client.get("/v1.0/groups", {"$select": "displayName", "$orderby": "displayName desc",
                                       "$filter": f"id in ('{a.pk}', '{c.pk}')"}).json()
    assert body["value"] == [{"id": str(c.pk), "displayName": "C"}, {"id": str(a.pk), "displayName": "A"}]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$filter": "visibility eq 'Public'"}, "Request_UnsupportedQuery"),  # computed, not filterable
        ({"$filter": "displayName eq"}, "Request_UnsupportedQuery"),
        ({"$filter": "nosuch eq 'x'"}, "Request_BadRequest"),
        ({"$filter": "id eq 'not-a-guid'"}, "Request_BadRequest"),
        ({"$filter": "displayName eq 'x' or 1 eq 1"}, "Request_UnsupportedQuery"),
        ({"$filter": "displayName eq 'x'; DELETE FROM directory_group"}, "Request_UnsupportedQuery"),
        ({"$filter": "createdDateTime ge 'yesterday'"}, "Request_BadRequest"),
        ({"$filter": "members/any(m:m/id eq 'x')"}, "Request_UnsupportedQuery"),
        ({"$filter": "(" * 40 + "displayName eq 'x'" + ")" * 40}, "Request_UnsupportedQuery"),
        ({"$filter": "displayName eq '\x00'"}, "Request_BadRequest"),
        ({"$top": "1000"}, "Request_BadRequest"),
        ({"$top": "abc"}, "Request_BadRequest"),
        ({"$select": "displayName,secret"}, "Request_BadRequest"),
        ({"$orderby": "description"}, "Request_UnsupportedQuery"),
        ({"$expand": "members,owners"}, "Request_UnsupportedQuery"),  # one navigation at a time
        ({"$search": '"displayName:x"'}, "Request_UnsupportedQuery"),
        ({"$skiptoken": "forged"}, "Request_BadRequest"),
        ({"$count": "maybe"}, "Request_BadRequest"),
    ],
)
def test_bad_group_queries_are_400(api_tenant, app_token_for, api, params, code):
    response = api(app_token_for(api_tenant, ["Group.Read.All"])).get("/v1.0/groups", params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


def test_paging_through_groups_with_constant_queries(api_tenant, app_token_for, api, django_assert_max_num_queries):
    Group.objects.bulk_create(Group(tenant=api_tenant, display_name=f"G{i:03}") for i in range(260))
    GroupFactory(tenant=TenantFactory())  # not ours
    client = api(app_token_for(api_tenant, ["Group.Read.All"]))
    seen, url, pages = [], "/v1.0/groups?$top=50", 0
    while url:
        with django_assert_max_num_queries(6):
            body = client.get(url).json()
        seen += [g["displayName"] for g in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert seen == [f"G{i:03}" for i in range(260)]
    assert pages == 6


def test_count_needs_consistency_level(api_tenant, app_token_for, api):
    GroupFactory.create_batch(3, tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["Group.Read.All"]))
    assert client.get("/v1.0/groups", {"$count": "true"}).status_code == 400
    body = client.get("/v1.0/groups", {"$count": "true", "$top": "1"}, HTTP_CONSISTENCYLEVEL="eventual").json()
    assert body["@odata.count"] == 3 and len(body["value"]) == 1


# --- members and owners with $ref -------------------------------------------------------------


def test_add_list_and_remove_members_with_ref(api_tenant, app_token_for, api):
    group = GroupFactory(tenant=api_tenant)
    ann, bob, gus = UserFactory(tenant=api_tenant, display_name="Ann"), UserFactory(
        tenant=api_tenant, display_name="Bob"), GuestFactory(tenant=api_tenant, display_name="Gus")
    client = api(app_token_for(api_tenant, ["GroupMember.ReadWrite.All"]))
    url = f"/v1.0/groups/{group.pk}/members"
    for body in (ref(ann), {"@odata.id": f"{GRAPH}/users/{bob.pk}"},
                 {"@odata.id": f"http://testserver/v1.0/directoryObjects('{gus.pk}')"}):
        response = client.post(f"{url}/$ref", body, format="json")
        assert response.status_code == 204, response.content
        assert response.content == b""
    members = client.get(url).json()
    assert members["@odata.context"].endswith("/v1.0/$metadata#directoryObjects")
    assert [(m["@odata.type"], m["displayName"]) for m in members["value"]] == [
        ("#microsoft.graph.user", "Ann"), ("#microsoft.graph.user", "Bob"), ("#microsoft.graph.user", "Gus")]
    guests = client.get(url, {"$filter": "userType eq 'Guest'", "$select": "displayName,userType"}).json()
    assert guests["value"] == [{"@odata.type": "#microsoft.graph.user", "id": str(gus.pk), "displayName": "Gus",
                                "userType": "Guest"}]

    again = client.post(f"{url}/$ref", ref(ann), format="json")
    assert again.status_code == 400
    assert again.json()["error"] == {**again.json()["error"], "code": "Request_BadRequest", "message": (
        "One or more added object references already exist for the following modified properties: 'members'.")}

    assert client.delete(f"{url}/{ann.pk}/$ref").status_code == 204
    assert set(group.members.all()) == {bob, gus}
    assert client.delete(f"{url}/{ann.pk}/$ref").status_code == 404  # no longer a member
    assert client.delete(f"{url}/not-a-guid/$ref").status_code == 404

    events = AuditEvent.objects.filter(tenant=api_tenant, category="GroupManagement")
    assert events.filter(activity_display_name="Add member to group").count() == 3
    [removed] = events.filter(activity_display_name="Remove member from group")
    assert [t["id"] for t in removed.target_resources] == [str(group.pk), str(ann.pk)]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"@odata.id": 5},
        {"@odata.id": None},
        {"@odata.id": ""},
        {"@odata.id": "not a url"},
        {"@odata.id": f"{GRAPH}/directoryObjects/not-a-guid"},
        {"@odata.id": f"{GRAPH}/directoryObjects/"},
        {"@odata.id": f"{GRAPH}/directoryObjects/{'1' * 5000}"},
        {"@odata.id": f"{GRAPH}/applications/8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"},
        {"@odata.id": f"{GRAPH}/servicePrincipals/8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"},
        {"@odata.id": f"{GRAPH}/directoryObjects/8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11", "extra": 1},
        {"@odata.id": [f"{GRAPH}/directoryObjects/8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"]},
    ],
)
def test_bad_member_references_are_400(api_tenant, app_token_for, api, body):
    group = GroupFactory(tenant=api_tenant)
    response = api(app_token_for(api_tenant, ["GroupMember.ReadWrite.All"])).post(
        f"/v1.0/groups/{group.pk}/members/$ref", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "Request_BadRequest"
    assert not group.members.exists()


def test_nested_groups_are_refused(api_tenant, app_token_for, api):
    group, other = GroupFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["GroupMember.ReadWrite.All"]))
    response = client.post(f"/v1.0/groups/{group.pk}/members/$ref", ref(other), format="json")
    assert response.status_code == 400 and "nested groups" in response.json()["error"]["message"]


def test_member_reference_to_another_tenants_user_is_404_like_a_missing_one(api_tenant, app_token_for, api):
    group = GroupFactory(tenant=api_tenant)
    stranger = UserFactory(tenant=TenantFactory())
    deleted = UserFactory(tenant=api_tenant, deleted_at=timezone.now())
    client = api(app_token_for(api_tenant, ["GroupMember.ReadWrite.All"]))
    missing = client.post(f"/v1.0/groups/{group.pk}/members/$ref",
                          {"@odata.id": f"{GRAPH}/directoryObjects/8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"},
                          format="json")
    foreign = client.post(f"/v1.0/groups/{group.pk}/members/$ref", ref(stranger), format="json")
    gone = client.post(f"/v1.0/groups/{group.pk}/members/$ref", ref(deleted), format="json")
    for response in (missing, foreign, gone):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert not group.members.exists()
    assert not AuditEvent.objects.filter(activity_display_name="Add member to group").exists()
    # the same for removing: another tenant's user is never a member here
    assert client.delete(f"/v1.0/groups/{group.pk}/members/{stranger.pk}/$ref").status_code == 404


def test_owners_with_ref(api_tenant, app_token_for, api):
    group = GroupFactory(tenant=api_tenant)
    ann = UserFactory(tenant=api_tenant, display_name="Ann")
    client = api(app_token_for(api_tenant, ["Group.ReadWrite.All"]))
    url = f"/v1.0/groups/{group.pk}/owners"
    assert client.post(f"{url}/$ref", ref(ann), format="json").status_code == 204
    again = client.post(f"{url}/$ref", ref(ann), format="json")
    assert again.status_code == 400 and "'owners'" in again.json()["error"]["message"]
    owners = client.get(url).json()["value"]
    assert [(o["@odata.type"], o["id"]) for o in owners] == [("#microsoft.graph.user", str(ann.pk))]
    assert not group.members.exists()  # an owner is not made a member
    assert client.delete(f"{url}/{ann.pk}/$ref").status_code == 204
    assert client.delete(f"{url}/{ann.pk}/$ref").status_code == 404
    assert client.get(url).json()["value"] == []
    events = AuditEvent.objects.filter(tenant=api_tenant)
    assert events.filter(activity_display_name="Add owner to group").count() == 1
    assert events.filter(activity_display_name="Remove owner from group").count() == 1


def test_group_member_writers_cannot_change_owners(api_tenant, app_token_for, api):
    group, ann = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["GroupMember.ReadWrite.All"]))
    assert client.post(f"/v1.0/groups/{group.pk}/owners/$ref", ref(ann), format="json").status_code == 403
    assert client.post("/v1.0/groups", new_group_body(), format="json").status_code == 403


def test_paging_through_members_with_constant_queries(api_tenant, app_token_for, api,
                                                      django_assert_max_num_queries):
    group = GroupFactory(tenant=api_tenant)
    users = User.objects.bulk_create(User(tenant=api_tenant, display_name=f"M{i:03}",
                                          user_principal_name=f"m{i}@tailwind.example") for i in range(260))
    Group.members.through.objects.bulk_create(Group.members.through(group=group, user=u) for u in users)
    client = api(app_token_for(api_tenant, ["GroupMember.Read.All"]))
    seen, url = [], f"/v1.0/groups/{group.pk}/members?$top=40&$orderby=displayName desc"
    while url:
        with django_assert_max_num_queries(7):
            body = client.get(url).json()
        seen += [m["displayName"] for m in body["value"]]
        url = body.get("@odata.nextLink")
    assert seen == [f"M{i:03}" for i in reversed(range(260))]


# --- what guests see --------------------------------------------------------------------------


def test_guests_see_groups_and_members_by_the_guest_access_level(api_tenant, api, delegated_token_for):
    guest = GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted")
    colleague, owner, stranger = (UserFactory(tenant=api_tenant, display_name=n) for n in ("Col", "Own", "Str"))
    mine, other = GroupFactory(tenant=api_tenant, display_name="Mine"), GroupFactory(tenant=api_tenant,
                                                                                        display_name="Other")
    mine.members.add(guest, colleague, owner)
    mine.owners.add(owner)
    other.members.add(stranger)
    other.owners.add(stranger)
    client = api(delegated_token_for(guest, ["Group.Read.All", "GroupMember.Read.All"]))

    def names(url):
        response = client.get(url)
        return response.json()["value"] if response.status_code == 200 else response.status_code

    # limited (the default): its own groups, their members and their owners who are members
    assert [g["displayName"] for g in names("/v1.0/groups")] == ["Mine"]
    assert {m["displayName"] for m in names(f"/v1.0/groups/{mine.pk}/members")} == {"Col", "Own",
                                                                                     guest.display_name}
    assert [o["displayName"] for o in names(f"/v1.0/groups/{mine.pk}/owners")] == ["Own"]
    assert names(f"/v1.0/groups/{other.pk}/members") == 404
    assert client.get(f"/v1.0/groups/{other.pk}").status_code == 404

    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=api_tenant,
                                                  changes={"guest_user_role_id": RESTRICTED})
    assert [g["displayName"] for g in names("/v1.0/groups")] == ["Mine"]
    assert [m["id"] for m in names(f"/v1.0/groups/{mine.pk}/members")] == [str(guest.pk)]
    assert names(f"/v1.0/groups/{mine.pk}/owners") == []

    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=api_tenant,
                                                  changes={"guest_user_role_id": SAME_AS_MEMBERS})
    assert [g["displayName"] for g in names("/v1.0/groups")] == ["Mine", "Other"]
    assert [m["displayName"] for m in names(f"/v1.0/groups/{other.pk}/members")] == ["Str"]
    assert [o["displayName"] for o in names(f"/v1.0/groups/{other.pk}/owners")] == ["Str"]
    # and whatever the level, a guest never writes
    assert client.post(f"/v1.0/groups/{mine.pk}/members/$ref", ref(stranger), format="json").status_code == 403


def test_a_group_owner_manages_its_own_group_through_a_delegated_token(api, delegated_token_for):
    from directory.models import AuditEvent, Group
    from tests.factories import GroupFactory, TenantFactory, UserFactory

    tenant = TenantFactory()
    owner, newcomer = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    mine, theirs = GroupFactory(tenant=tenant), GroupFactory(tenant=tenant)
    mine.owners.add(owner)
    client = api(delegated_token_for(owner, ["GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Group.Read.All"]))
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{newcomer.pk}"}
    assert client.post(f"/v1.0/groups/{mine.pk}/members/$ref", ref, format="json").status_code == 204
    assert client.patch(f"/v1.0/groups/{mine.pk}", {"description": "Ours"}, format="json").status_code == 204
    assert client.delete(f"/v1.0/groups/{mine.pk}/members/{newcomer.pk}/$ref").status_code == 204
    # A group it does not own stays out of reach, whatever the token's scopes.
    response = client.post(f"/v1.0/groups/{theirs.pk}/members/$ref", ref, format="json")
    assert response.status_code == 403
    assert client.delete(f"/v1.0/groups/{theirs.pk}").status_code == 403
    assert not theirs.members.exists() and Group.objects.filter(pk=theirs.pk).exists()
    assert Group.objects.get(pk=mine.pk).description == "Ours"
    assert AuditEvent.objects.filter(activity_display_name="Add member to group",
                                     initiated_by_account=owner.account).exists()


def test_an_owner_without_the_scope_cannot_manage_its_group(api, delegated_token_for):
    from tests.factories import GroupFactory, TenantFactory, UserFactory

    tenant = TenantFactory()
    owner, newcomer = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    client = api(delegated_token_for(owner, ["Group.Read.All"]))
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{newcomer.pk}"}
    assert client.post(f"/v1.0/groups/{group.pk}/members/$ref", ref, format="json").status_code == 403


def test_a_member_creates_a_group_through_the_api_only_where_allowed_to_create_security_groups(
        api, api_tenant, delegated_token_for):
    """The tenant's allowedToCreateSecurityGroups (default false) is the rule the panel applies too; the
    member who creates a group owns it."""
    from directory.services import tenant_group_settings_update

    member = UserFactory(tenant=api_tenant)
    client = api(delegated_token_for(member, ["Group.Create"]))
    refused = client.post("/v1.0/groups", new_group_body(), format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"
    tenant_group_settings_update(actor=Actor.operator(), tenant=api_tenant,
                                 changes={"members_can_create_security_groups": True})
    created = client.post("/v1.0/groups", new_group_body(), format="json")
    assert created.status_code == 201, created.content
    assert list(Group.objects.get(pk=created.json()["id"]).owners.all()) == [member]


def test_two_groups_may_share_a_name_as_in_graph(api_tenant, app_token_for, api):
    client = api(app_token_for(api_tenant, ["Group.ReadWrite.All"]))
    first = client.post("/v1.0/groups", new_group_body(displayName="Finance"), format="json")
    second = client.post("/v1.0/groups", new_group_body(displayName="FINANCE"), format="json")
    third = client.post("/v1.0/groups", new_group_body(displayName="Sales"), format="json")
    renamed = client.patch(f"/v1.0/groups/{third.json()['id']}", {"displayName": "Finance"}, format="json")

    assert (first.status_code, second.status_code, renamed.status_code) == (201, 201, 204), second.content
    assert first.json()["id"] != second.json()["id"]
    assert Group.objects.filter(tenant=api_tenant, display_name__iexact="finance").count() == 3
