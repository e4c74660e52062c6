"""$expand on single items and list pages: manager, memberOf, sponsors (users), members, owners
(groups), with Graph's limits (one navigation, 20 objects each, nested $select only)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.actors import Actor
from policies import services as policy_services
from tests.factories import AccountFactory, GroupFactory, GuestFactory, UserFactory

pytestmark = pytest.mark.django_db

RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b"


@pytest.fixture
def admin_api(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Directory.ReadWrite.All"]))


def test_expand_manager_on_a_single_user_with_a_nested_select(api_tenant, admin_api):
    """The defect: GET /users/{id}?$expand=manager answered 200 without the manager."""
    boss = UserFactory(tenant=api_tenant, display_name="Boss", job_title="CEO")
    ann = UserFactory(tenant=api_tenant, manager=boss)

    body = admin_api.get(f"/v1.0/users/{ann.pk}?$expand=manager").json()
    assert body["manager"]["@odata.type"] == "#microsoft.graph.user"
    assert body["manager"]["id"] == str(boss.pk) and body["manager"]["jobTitle"] == "CEO"

    narrow = admin_api.get(f"/v1.0/users/{ann.pk}?$select=id&$expand=manager($select=id,displayName)").json()
    assert narrow["manager"] == {"@odata.type": "#microsoft.graph.user", "id": str(boss.pk), "displayName": "Boss"}
    assert set(narrow) == {"@odata.context", "id", "manager"}

    alone = admin_api.get(f"/v1.0/users/{boss.pk}?$expand=manager").json()
    assert "manager" not in alone  # no manager: the property is absent, as in Graph


def test_expand_member_of_and_sponsors_on_a_user(api_tenant, admin_api):
    guest, sponsor = GuestFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    guest.sponsors.add(sponsor)
    group = GroupFactory(tenant=api_tenant)
    group.members.add(guest)

    member_of = admin_api.get(f"/v1.0/users/{guest.pk}?$expand=memberOf").json()["memberOf"]
    assert [(g["@odata.type"], g["id"]) for g in member_of] == [("#microsoft.graph.group", str(group.pk))]
    sponsors = admin_api.get(f"/v1.0/users/{guest.pk}?$expand=sponsors($select=id)").json()["sponsors"]
    assert sponsors == [{"@odata.type": "#microsoft.graph.user", "id": str(sponsor.pk)}]


def test_expand_members_and_owners_on_groups_cut_at_20_each(api_tenant, admin_api):
    big, small = GroupFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    people = [UserFactory(tenant=api_tenant, display_name=f"Person {i:02d}") for i in range(25)]
    big.members.add(*people)
    small.members.add(people[0])
    small.owners.add(people[1])

    page = admin_api.get("/v1.0/groups?$expand=members($select=id,displayName)").json()["value"]
    by_id = {g["id"]: g for g in page}
    assert [m["displayName"] for m in by_id[str(big.pk)]["members"]] == [f"Person {i:02d}" for i in range(20)]
    assert [m["id"] for m in by_id[str(small.pk)]["members"]] == [str(people[0].pk)]

    owners = admin_api.get(f"/v1.0/groups/{small.pk}?$expand=owners").json()["owners"]
    assert [o["id"] for o in owners] == [str(people[1].pk)]


def test_a_list_page_costs_the_same_queries_whatever_its_size(api_tenant, admin_api):
    def queries(n_users: int) -> int:
        for _ in range(n_users):
            user = UserFactory(tenant=api_tenant, manager=UserFactory(tenant=api_tenant))
            GroupFactory(tenant=api_tenant).members.add(user)
        counts = []
        for navigation in ("manager", "memberOf", "sponsors"):
            with CaptureQueriesContext(connection) as captured:
                response = admin_api.get(f"/v1.0/users?$expand={navigation}")
            assert response.status_code == 200
            counts.append(len(captured))
        return counts

    small = queries(2)
    large = queries(10)
    assert small == large


def test_expand_limits_are_graphs(api_tenant, admin_api):
    ann = UserFactory(tenant=api_tenant)
    two = admin_api.get(f"/v1.0/users/{ann.pk}?$expand=manager,memberOf")
    assert two.status_code == 400 and two.json()["error"]["code"] == "Request_UnsupportedQuery"
    unknown = admin_api.get("/v1.0/users?$expand=owners")
    assert unknown.status_code == 400 and "owners" in unknown.json()["error"]["message"]
    nested = admin_api.get("/v1.0/users?$expand=memberOf($top=5)")
    assert nested.status_code == 400 and "$top" in nested.json()["error"]["message"]
    assert admin_api.get("/v1.0/users?$expand=memberOf($select=nope)").status_code == 400
    assert admin_api.get("/v1.0/users?$expand=memberOf(").status_code == 400
    assert admin_api.get("/v1.0/servicePrincipals?$expand=owners").status_code == 400


def test_expanded_objects_are_only_those_the_caller_may_read(api_tenant, delegated_token_for, api):
    """A guest's expansions follow its guest access level, as the members and owners endpoints do."""
    guest = GuestFactory(tenant=api_tenant, external_user_state="Accepted", account=AccountFactory())
    colleague, owner = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    group = GroupFactory(tenant=api_tenant)
    group.members.add(guest, colleague)
    group.owners.add(owner)
    client = api(delegated_token_for(guest, ["Group.Read.All", "GroupMember.Read.All"]))

    def ids(url, navigation):
        return sorted(o["id"] for o in client.get(url).json()[navigation])

    for level in (None, RESTRICTED):
        if level:
            policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=api_tenant,
                                                          changes={"guest_user_role_id": level})
        for navigation in ("members", "owners"):
            listed = sorted(m["id"] for m in client.get(f"/v1.0/groups/{group.pk}/{navigation}").json()["value"])
            on_item = ids(f"/v1.0/groups/{group.pk}?$expand={navigation}", navigation)
            on_list = client.get(f"/v1.0/groups?$expand={navigation}").json()["value"]
            assert on_item == listed, (level, navigation)
            assert [sorted(o["id"] for o in g[navigation]) for g in on_list] == [listed], (level, navigation)
    assert ids(f"/v1.0/groups/{group.pk}?$expand=members", "members") == [str(guest.pk)]  # restricted: itself
