"""A property read from related rows (a user's ``identities``) is fetched only when the response holds it:
Graph leaves it out by default, so a page of users without ``$select=identities`` runs no statement for
it, and a page with it runs one for the whole page, never one per user (``odata.Resource.prefetches``)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import User, UserIdentity
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

IDENTITY_TABLE = '"directory_useridentity"'


@pytest.fixture
def people(api_tenant):
    users = [UserFactory(tenant=api_tenant, display_name=f"Person {i}") for i in range(4)]
    for user in users:
        UserIdentity.objects.create(user=user, sign_in_type="emailAddress", issuer="partner.example",
                                    issuer_assigned_id=f"{user.display_name.lower().replace(' ', '.')}@partner.example")
    return users


@pytest.fixture
def admin(api, app_token_for, api_tenant):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All", "Group.ReadWrite.All"]))


def _get(client, path, params=None, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {}, **headers)
    assert response.status_code == 200, response.content
    return response.json(), sum(IDENTITY_TABLE in query["sql"] for query in queries.captured_queries)


def _identity_ids(values: list[dict]) -> dict[str, list[str]]:
    return {value["displayName"]: [i["issuerAssignedId"] for i in value["identities"]] for value in values}


EXPECTED = {f"Person {i}": [f"person.{i}@partner.example"] for i in range(4)}


def test_a_users_page_without_identities_reads_none_and_with_them_reads_them_once(admin, people):
    page, reads = _get(admin, "/v1.0/users")
    assert reads == 0 and all("identities" not in value for value in page["value"])
    page, reads = _get(admin, "/v1.0/users", {"$select": "displayName,identities"})
    assert reads == 1
    assert _identity_ids(page["value"]) == EXPECTED


def test_a_searched_page_reads_identities_only_when_they_are_selected(admin, people):
    eventual = {"HTTP_CONSISTENCYLEVEL": "eventual"}
    page, reads = _get(admin, "/v1.0/users", {"$search": '"displayName:person"'}, **eventual)
    assert reads == 0 and len(page["value"]) == 4
    page, reads = _get(admin, "/v1.0/users", {"$search": '"displayName:person"', "$select": "displayName,identities"},
                       **eventual)
    assert reads == 1
    assert _identity_ids(page["value"]) == EXPECTED


def test_one_user_reads_identities_only_when_they_are_selected(admin, people):
    user = people[2]
    value, reads = _get(admin, f"/v1.0/users/{user.pk}")
    assert reads == 0 and "identities" not in value
    value, reads = _get(admin, f"/v1.0/users/{user.pk}", {"$select": "displayName,identities"})
    assert reads == 1 and value["identities"] == [
        {"signInType": "emailAddress", "issuer": "partner.example", "issuerAssignedId": "person.2@partner.example"}]


def test_a_groups_members_read_identities_once_when_selected(admin, people, api_tenant):
    group = GroupFactory(tenant=api_tenant)
    group.members.add(*people)
    page, reads = _get(admin, f"/v1.0/groups/{group.pk}/members")
    assert reads == 0
    page, reads = _get(admin, f"/v1.0/groups/{group.pk}/members", {"$select": "displayName,identities"})
    assert reads == 1
    assert _identity_ids(page["value"]) == EXPECTED


def test_a_delta_page_reads_identities_once_when_selected(admin, people):
    page, reads = _get(admin, "/v1.0/users/delta")
    assert reads == 0
    page, reads = _get(admin, "/v1.0/users/delta", {"$select": "displayName,identities"})
    assert reads == 1
    assert _identity_ids([value for value in page["value"] if value["displayName"].startswith("Person")]) == EXPECTED


def test_deleted_users_read_identities_once_when_selected(admin, people):
    User.objects.filter(pk__in=[user.pk for user in people]).update(
        deleted_at=timezone.now() - datetime.timedelta(days=1))
    page, reads = _get(admin, "/v1.0/directory/deletedItems/microsoft.graph.user")
    assert reads == 0 and len(page["value"]) == 4
    page, reads = _get(admin, "/v1.0/directory/deletedItems/microsoft.graph.user",
                       {"$select": "displayName,identities"})
    assert reads == 1
    assert _identity_ids(page["value"]) == EXPECTED


def test_expanded_members_read_identities_once_when_their_select_holds_them(admin, people, api_tenant):
    groups = [GroupFactory(tenant=api_tenant, display_name=f"Team {i}") for i in range(2)]
    for group in groups:
        group.members.add(*people)
    page, reads = _get(admin, "/v1.0/groups", {"$expand": "members"})
    assert reads == 0 and all(len(value["members"]) == 4 for value in page["value"])
    page, reads = _get(admin, "/v1.0/groups", {"$expand": "members($select=displayName,identities)"})
    assert reads == 1  # one for both groups' members
    assert [_identity_ids(value["members"]) for value in page["value"]] == [EXPECTED, EXPECTED]
