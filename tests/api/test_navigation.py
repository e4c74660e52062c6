"""Navigations: $count (text/plain), casts, transitive*, check/getMember*, sponsors/$ref, manager and
manager/$ref, users/{id}/appRoleAssignments, DELETE members/$ref?$id=, Group.mailNickname."""

import uuid

import pytest

from directory.models import AuditEvent, Group
from tests.api.contract import EndpointContract
from tests.factories import AssignmentFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.microsoft.com/v1.0"
EVENTUAL = {"HTTP_CONSISTENCYLEVEL": "eventual"}


def ref(obj) -> dict:
    return {"@odata.id": f"{GRAPH}/directoryObjects/{obj.pk}"}


# --- the access contract of every new route -----------------------------------------------------


class _Count(EndpointContract):
    """A $count route: sent with ConsistencyLevel: eventual, as Graph requires."""

    def call(self, client, tenant, target):
        return client.get(self.url(target), **EVENTUAL)


def _user_with_group(tenant) -> dict:
    user = UserFactory(tenant=tenant)
    GroupFactory(tenant=tenant).members.add(user)
    return {"user_id": user.pk}


def _group_with_member(tenant) -> dict:
    group = GroupFactory(tenant=tenant)
    group.members.add(UserFactory(tenant=tenant))
    return {"group_id": group.pk}


class TestUsersCount(_Count):
    route = "users/$count"
    permission = "User.Read.All"


class TestGroupsCount(_Count):
    route = "groups/$count"
    permission = "Group.Read.All"


_USER_GROUP_ROUTES = ["users/<str:user_id>/transitiveMemberOf"] + [
    f"users/<str:user_id>/{nav}/{cast}" for nav in ("memberOf", "transitiveMemberOf")
    for cast in ("microsoft.graph.group", "graph.group")]
_USER_GROUP_COUNTS = [f"{route}/$count" for route in ["users/<str:user_id>/memberOf", *_USER_GROUP_ROUTES]]
_GROUP_MEMBER_ROUTES = ["groups/<str:group_id>/transitiveMembers"] + [
    f"groups/<str:group_id>/{nav}/{cast}" for nav in ("members", "transitiveMembers")
    for cast in ("microsoft.graph.user", "graph.user")]
_GROUP_MEMBER_COUNTS = [f"{route}/$count" for route in ["groups/<str:group_id>/members", *_GROUP_MEMBER_ROUTES]]
# members that are groups: none here (groups do not nest), but the route reads the group as the others do
_GROUP_MEMBER_GROUP_ROUTES = [f"groups/<str:group_id>/{nav}/{cast}" for nav in ("members", "transitiveMembers")
                              for cast in ("microsoft.graph.group", "graph.group")]
_GROUP_MEMBER_ROUTES += _GROUP_MEMBER_GROUP_ROUTES
_GROUP_MEMBER_COUNTS += [f"{route}/$count" for route in _GROUP_MEMBER_GROUP_ROUTES]


def _contract(name: str, base: type, **attrs) -> None:
    globals()[name] = type(name, (base,), attrs)


for _i, _route in enumerate(_USER_GROUP_ROUTES):
    _contract(f"TestUserGroups{_i}", EndpointContract, route=_route, permission="User.Read.All", guest_status=404,
              make_target=lambda self, tenant: _user_with_group(tenant))
for _i, _route in enumerate(_USER_GROUP_COUNTS):
    _contract(f"TestUserGroupsCount{_i}", _Count, route=_route, permission="User.Read.All", guest_status=404,
              make_target=lambda self, tenant: _user_with_group(tenant))
for _i, _route in enumerate(_GROUP_MEMBER_ROUTES):
    _contract(f"TestGroupMembers{_i}", EndpointContract, route=_route, permission="GroupMember.Read.All",
              guest_status=404, make_target=lambda self, tenant: _group_with_member(tenant))
for _i, _route in enumerate(_GROUP_MEMBER_COUNTS):
    _contract(f"TestGroupMembersCount{_i}", _Count, route=_route, permission="GroupMember.Read.All",
              guest_status=404, make_target=lambda self, tenant: _group_with_member(tenant))


def _user_and_one_of_its_groups(tenant) -> dict:
    user, group = UserFactory(tenant=tenant), GroupFactory(tenant=tenant)
    group.members.add(user)
    return {"user_id": user.pk, "group_id": group.pk}


class TestUserMemberOfItem(EndpointContract):
    route = "users/<str:user_id>/memberOf/<str:group_id>"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        return _user_and_one_of_its_groups(tenant)


class TestSponsorsCount(_Count):
    route = "users/<str:user_id>/sponsors/$count"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk}


class _MemberAction(EndpointContract):
    method = "post"
    permission = "User.Read.All"
    guest_status = 404  # a limited guest reads no other user
    member_status = 200  # a read sent as a POST: members read the directory
    def make_target(self, tenant):
        user, group = UserFactory(tenant=tenant), GroupFactory(tenant=tenant)
        group.members.add(user)
        return {"user_id": user.pk, "group": group}


class TestCheckMemberGroups(_MemberAction):
    route = "users/<str:user_id>/checkMemberGroups"

    def body(self, tenant, target):
        return {"groupIds": [str(target["group"].pk)]}


class TestCheckMemberObjects(_MemberAction):
    route = "users/<str:user_id>/checkMemberObjects"

    def body(self, tenant, target):
        return {"ids": [str(target["group"].pk)]}


class TestGetMemberGroups(_MemberAction):
    route = "users/<str:user_id>/getMemberGroups"

    def body(self, tenant, target):
        return {"securityEnabledOnly": True}


class TestGetMemberObjects(TestGetMemberGroups):
    route = "users/<str:user_id>/getMemberObjects"


class TestAddSponsorRef(EndpointContract):
    route = "users/<str:user_id>/sponsors/$ref"
    method = "post"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        return {"user_id": GuestFactory(tenant=tenant).pk, "sponsor": UserFactory(tenant=tenant)}

    def body(self, tenant, target):
        return ref(target["sponsor"])


class TestRemoveSponsorRefById(EndpointContract):
    route = "users/<str:user_id>/sponsors/$ref"
    method = "delete"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        guest, sponsor = GuestFactory(tenant=tenant), UserFactory(tenant=tenant)
        guest.sponsors.add(sponsor)
        return {"user_id": guest.pk, "sponsor_id": sponsor.pk}

    def call(self, client, tenant, target):
        url = f"/v1.0/users/{target['user_id']}/sponsors/$ref?@id={GRAPH}/directoryObjects/{target['sponsor_id']}"
        return client.delete(url)


class TestRemoveSponsorRef(EndpointContract):
    route = "users/<str:user_id>/sponsors/<str:sponsor_id>/$ref"
    method = "delete"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        guest, sponsor = GuestFactory(tenant=tenant), UserFactory(tenant=tenant)
        guest.sponsors.add(sponsor)
        return {"user_id": guest.pk, "sponsor_id": sponsor.pk}


def _user_with_manager(tenant) -> dict:
    manager = UserFactory(tenant=tenant)
    return {"user_id": UserFactory(tenant=tenant, manager=manager).pk, "manager": manager}


class TestGetManager(EndpointContract):
    route = "users/<str:user_id>/manager"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        target = _user_with_manager(tenant)
        target.pop("manager")
        return target


class TestSetManagerRef(EndpointContract):
    route = "users/<str:user_id>/manager/$ref"
    method = "put"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk, "manager": UserFactory(tenant=tenant)}

    def body(self, tenant, target):
        return ref(target["manager"])


class TestRemoveManagerRef(EndpointContract):
    route = "users/<str:user_id>/manager/$ref"
    method = "delete"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        target = _user_with_manager(tenant)
        target.pop("manager")
        return target


class TestUserAppRoleAssignments(EndpointContract):
    route = "users/<str:user_id>/appRoleAssignments"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        user = UserFactory(tenant=tenant)
        AssignmentFactory(application__tenant=tenant, user=user)
        return {"user_id": user.pk}


class TestRemoveMemberRefById(EndpointContract):
    route = "groups/<str:group_id>/members/$ref"
    method = "delete"
    permission = "GroupMember.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "group"

    def make_target(self, tenant):
        group, user = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
        group.members.add(user)
        return {"group_id": group.pk, "member_id": user.pk}

    def call(self, client, tenant, target):
        url = f"/v1.0/groups/{target['group_id']}/members/$ref?$id={GRAPH}/directoryObjects/{target['member_id']}"
        return client.delete(url)


# --- behaviour -----------------------------------------------------------------------------------


@pytest.fixture
def admin_api(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Directory.ReadWrite.All"]))


def test_users_count_is_text_plain_needs_consistency_level_and_honours_filter(api_tenant, admin_api):
    UserFactory.create_batch(3, tenant=api_tenant)
    GuestFactory(tenant=api_tenant)
    UserFactory(tenant=TenantFactory())  # another tenant's
    UserFactory(tenant=api_tenant, deleted_at="2026-01-01T00:00:00Z")

    response = admin_api.get("/v1.0/users/$count", HTTP_ACCEPT="text/plain;q=0.9", **EVENTUAL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"4"

    guests = admin_api.get("/v1.0/users/$count?$filter=userType eq 'Guest'", **EVENTUAL)
    assert guests.content == b"1"

    refused = admin_api.get("/v1.0/users/$count", HTTP_ACCEPT="text/plain;q=0.9")
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("application/json")  # errors stay JSON
    assert "ConsistencyLevel" in refused.json()["error"]["message"]

    assert admin_api.get("/v1.0/users/$count?$top=1", **EVENTUAL).status_code == 400


def test_member_and_member_of_counts(api_tenant, admin_api):
    group, other = GroupFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    ann, bob = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    group.members.add(ann, bob)
    other.members.add(ann)

    assert admin_api.get(f"/v1.0/groups/{group.pk}/members/$count", **EVENTUAL).content == b"2"
    assert admin_api.get(f"/v1.0/groups/{group.pk}/members/graph.user/$count", **EVENTUAL).content == b"2"
    assert admin_api.get(f"/v1.0/users/{ann.pk}/memberOf/$count", **EVENTUAL).content == b"2"
    assert admin_api.get(f"/v1.0/users/{bob.pk}/transitiveMemberOf/$count", **EVENTUAL).content == b"1"
    assert admin_api.get(f"/v1.0/groups/$count?$filter=displayName eq '{group.display_name}'",
                         **EVENTUAL).content == b"1"


def test_casts_and_transitive_navigations_answer_graph_shapes(api_tenant, admin_api):
    group = GroupFactory(tenant=api_tenant, display_name="Engineering")
    ann = UserFactory(tenant=api_tenant, display_name="Ann")
    group.members.add(ann)

    cast = admin_api.get(f"/v1.0/users/{ann.pk}/memberOf/microsoft.graph.group").json()
    assert cast["@odata.context"].endswith("$metadata#groups")
    assert [g["id"] for g in cast["value"]] == [str(group.pk)]

    transitive = admin_api.get(f"/v1.0/users/{ann.pk}/transitiveMemberOf").json()
    assert transitive["@odata.context"].endswith("$metadata#directoryObjects")
    assert transitive["value"][0]["@odata.type"] == "#microsoft.graph.group"
    assert transitive["value"][0]["displayName"] == "Engineering"

    members = admin_api.get(f"/v1.0/groups/{group.pk}/transitiveMembers/graph.user?$select=id,displayName").json()
    assert members["@odata.context"].endswith("$metadata#users")
    assert members["value"] == [{"@odata.type": "#microsoft.graph.user", "id": str(ann.pk), "displayName": "Ann"}]
    direct = admin_api.get(f"/v1.0/groups/{group.pk}/transitiveMembers").json()
    assert [m["id"] for m in direct["value"]] == [str(ann.pk)]


def test_check_member_groups_answers_only_the_groups_the_user_is_in(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant)
    mine, not_mine = GroupFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    foreign = GroupFactory(tenant=TenantFactory())
    mine.members.add(ann)
    foreign.members.add(UserFactory(tenant=foreign.tenant))

    response = admin_api.post(f"/v1.0/users/{ann.pk}/checkMemberGroups", {
        "groupIds": [str(not_mine.pk), str(mine.pk), str(foreign.pk), str(mine.pk)]}, format="json")
    assert response.status_code == 200
    assert response.json()["value"] == [str(mine.pk)]
    assert response.json()["@odata.context"].endswith("$metadata#Collection(Edm.String)")

    objects = admin_api.post(f"/v1.0/users/{ann.pk}/checkMemberObjects", {"ids": [str(mine.pk)]}, format="json")
    assert objects.json()["value"] == [str(mine.pk)]

    bad = admin_api.post(f"/v1.0/users/{ann.pk}/checkMemberGroups", {"groupIds": ["nope"]}, format="json")
    assert bad.status_code == 400 and "Invalid GUID" in bad.json()["error"]["message"]
    too_many = admin_api.post(f"/v1.0/users/{ann.pk}/checkMemberGroups",
                              {"groupIds": [str(mine.pk)] * 21}, format="json")
    assert too_many.status_code == 400


def test_get_member_groups_lists_the_users_groups_and_needs_security_enabled_only(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant)
    groups = GroupFactory.create_batch(3, tenant=api_tenant)
    for group in groups[:2]:
        group.members.add(ann)

    response = admin_api.post(f"/v1.0/users/{ann.pk}/getMemberGroups", {"securityEnabledOnly": False}, format="json")
    assert sorted(response.json()["value"]) == sorted(str(g.pk) for g in groups[:2])
    objects = admin_api.post(f"/v1.0/users/{ann.pk}/getMemberObjects", {"securityEnabledOnly": True}, format="json")
    assert sorted(objects.json()["value"]) == sorted(str(g.pk) for g in groups[:2])
    assert admin_api.post(f"/v1.0/users/{ann.pk}/getMemberGroups", {}, format="json").status_code == 400


def test_sponsor_refs_add_once_and_remove_by_id_or_by_url(api_tenant, admin_api):
    guest, ann, bob = GuestFactory(tenant=api_tenant), UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    url = f"/v1.0/users/{guest.pk}/sponsors"

    assert admin_api.post(f"{url}/$ref", ref(ann), format="json").status_code == 204
    assert admin_api.post(f"{url}/$ref", ref(bob), format="json").status_code == 204
    again = admin_api.post(f"{url}/$ref", ref(ann), format="json")
    assert again.status_code == 400
    assert again.json()["error"]["message"] == ("One or more added object references already exist for the "
                                                "following modified properties: 'sponsors'.")
    assert set(guest.sponsors.all()) == {ann, bob}
    assert admin_api.get(f"{url}/$count", **EVENTUAL).content == b"2"

    assert admin_api.delete(f"{url}/{ann.pk}/$ref").status_code == 204
    assert admin_api.delete(f"{url}/$ref?$id={GRAPH}/users/{bob.pk}").status_code == 204
    assert list(guest.sponsors.all()) == []
    assert admin_api.delete(f"{url}/{ann.pk}/$ref").status_code == 404
    assert admin_api.delete(f"{url}/$ref").status_code == 400
    group = GroupFactory(tenant=api_tenant)
    assert admin_api.post(f"{url}/$ref", ref(group), format="json").status_code == 400
    changes = [e.target_resources[0]["modifiedProperties"] for e in AuditEvent.objects.filter(
        activity_display_name="Update user")]
    assert len(changes) == 4 and all(c[0]["displayName"] == "sponsors" for c in changes)


def test_delete_member_ref_by_url_as_the_sdk_and_the_docs_send_it(api_tenant, admin_api):
    group = GroupFactory(tenant=api_tenant)
    ann, bob, eve = (UserFactory(tenant=api_tenant) for _ in range(3))
    group.members.add(ann, bob)

    assert admin_api.delete(f"/v1.0/groups/{group.pk}/members/$ref?@id={GRAPH}/directoryObjects/{ann.pk}"
                            ).status_code == 204
    assert admin_api.delete(f"/v1.0/groups/{group.pk}/members/$ref?$id={GRAPH}/users/{bob.pk}").status_code == 204
    assert list(group.members.all()) == []
    assert admin_api.delete(f"/v1.0/groups/{group.pk}/members/$ref?$id={GRAPH}/users/{eve.pk}").status_code == 404
    missing = admin_api.delete(f"/v1.0/groups/{group.pk}/members/$ref")
    assert missing.status_code == 400 and "$id" in missing.json()["error"]["message"]
    assert admin_api.delete(f"/v1.0/groups/{group.pk}/members/$ref?$id=not-a-url").status_code == 400


def test_duplicate_member_and_owner_refs_are_graphs_400(api_tenant, admin_api):
    group, ann = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    for relation in ("members", "owners"):
        assert admin_api.post(f"/v1.0/groups/{group.pk}/{relation}/$ref", ref(ann), format="json").status_code == 204
        again = admin_api.post(f"/v1.0/groups/{group.pk}/{relation}/$ref", ref(ann), format="json")
        assert again.status_code == 400
        assert f"modified properties: '{relation}'" in again.json()["error"]["message"]
    assert AuditEvent.objects.filter(activity_display_name="Add member to group").count() == 1


def test_manager_is_set_read_and_removed_with_ref(api_tenant, admin_api):
    ann, boss = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant, display_name="Boss")
    url = f"/v1.0/users/{ann.pk}/manager"

    assert admin_api.get(url).status_code == 404
    assert admin_api.put(f"{url}/$ref", {"@odata.id": f"{GRAPH}/users/{boss.pk}"}, format="json").status_code == 204
    ann.refresh_from_db()
    assert ann.manager == boss
    manager = admin_api.get(url).json()
    assert manager["@odata.type"] == "#microsoft.graph.user"
    assert manager["id"] == str(boss.pk) and manager["displayName"] == "Boss"
    assert manager["@odata.context"].endswith("$metadata#directoryObjects/$entity")
    audit = AuditEvent.objects.get(activity_display_name="Update user")
    assert audit.target_resources[0]["modifiedProperties"][0]["displayName"] == "manager"

    assert admin_api.delete(f"{url}/$ref").status_code == 204
    ann.refresh_from_db()
    assert ann.manager is None
    assert admin_api.delete(f"{url}/$ref").status_code == 404


def test_manager_must_be_another_user_of_the_tenant(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant)
    stranger = UserFactory(tenant=TenantFactory())
    group = GroupFactory(tenant=api_tenant)
    url = f"/v1.0/users/{ann.pk}/manager/$ref"

    own = admin_api.put(url, ref(ann), format="json")
    assert own.status_code == 400 and "own manager" in own.json()["error"]["message"]
    assert admin_api.put(url, ref(stranger), format="json").status_code == 404
    assert admin_api.put(url, ref(group), format="json").status_code == 400
    assert admin_api.put(url, {"@odata.id": "https://example.com/nothing"}, format="json").status_code == 400
    ann.refresh_from_db()
    assert ann.manager is None


def test_a_deleted_manager_is_not_shown(api_tenant, admin_api):
    boss = UserFactory(tenant=api_tenant, deleted_at="2026-01-01T00:00:00Z")
    ann = UserFactory(tenant=api_tenant, manager=boss)
    assert admin_api.get(f"/v1.0/users/{ann.pk}/manager").status_code == 404


def test_user_app_role_assignments_are_the_direct_ones(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant)
    direct = AssignmentFactory(application__tenant=api_tenant, user=ann)
    group = GroupFactory(tenant=api_tenant)
    group.members.add(ann)
    AssignmentFactory(application__tenant=api_tenant, group=group)  # through a group: not listed
    AssignmentFactory(application__tenant=api_tenant, user=UserFactory(tenant=api_tenant))

    body = admin_api.get(f"/v1.0/users/{ann.pk}/appRoleAssignments").json()
    assert [a["id"] for a in body["value"]] == [str(direct.pk)]
    item = body["value"][0]
    assert item["principalId"] == str(ann.pk) and item["principalType"] == "User"
    assert item["resourceId"] == str(direct.application_id)
    assert item["appRoleId"] == "00000000-0000-0000-0000-000000000000"
    assert body["@odata.context"].endswith(f"users('{ann.pk}')/appRoleAssignments")


def test_group_mail_nickname_is_stored_returned_filterable_and_patchable(api_tenant, admin_api):
    created = admin_api.post("/v1.0/groups", {"displayName": "Engineering", "mailNickname": "eng-team",
                                              "mailEnabled": False, "securityEnabled": True}, format="json")
    assert created.status_code == 201
    assert created.json()["mailNickname"] == "eng-team"
    group = Group.objects.get(pk=created.json()["id"])
    assert group.mail_nickname == "eng-team"
    GroupFactory(tenant=api_tenant, mail_nickname="sales")

    for clause in ("mailNickname eq 'ENG-TEAM'", "startswith(mailNickname,'eng')"):
        found = admin_api.get(f"/v1.0/groups?$filter={clause}").json()["value"]
        assert [g["id"] for g in found] == [str(group.pk)], clause

    assert admin_api.patch(f"/v1.0/groups/{group.pk}", {"mailNickname": "engineering"},
                           format="json").status_code == 204
    assert admin_api.get(f"/v1.0/groups/{group.pk}").json()["mailNickname"] == "engineering"
    assert admin_api.patch(f"/v1.0/groups/{group.pk}", {"mailNickname": "has space"},
                           format="json").status_code == 400


def test_one_group_of_a_users_member_of_is_read_by_its_id(api_tenant, admin_api):
    target = _user_and_one_of_its_groups(api_tenant)
    other = GroupFactory(tenant=api_tenant)
    base = f"/v1.0/users/{target['user_id']}/memberOf"

    found = admin_api.get(f"{base}/{target['group_id']}")
    not_a_member = admin_api.get(f"{base}/{other.pk}")
    not_an_id = admin_api.get(f"{base}/nope")

    assert found.status_code == 200, found.content
    assert found.json()["@odata.type"] == "#microsoft.graph.group" and found.json()["id"] == str(target["group_id"])
    assert not_a_member.status_code == 404 and not_an_id.status_code == 404


def test_a_groups_members_that_are_groups_are_none_here_and_counted_so(api_tenant, admin_api):
    group = GroupFactory(tenant=api_tenant)
    group.members.add(UserFactory(tenant=api_tenant))

    for nav in ("members", "transitiveMembers"):
        listed = admin_api.get(f"/v1.0/groups/{group.pk}/{nav}/microsoft.graph.group")
        counted = admin_api.get(f"/v1.0/groups/{group.pk}/{nav}/microsoft.graph.group/$count", **EVENTUAL)
        assert listed.status_code == 200 and listed.json()["value"] == [], listed.content
        assert counted.status_code == 200 and counted.content == b"0"
    assert admin_api.get(f"/v1.0/groups/{uuid.uuid4()}/members/microsoft.graph.group").status_code == 404
