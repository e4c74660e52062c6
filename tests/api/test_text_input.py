"""Text the API cannot store is bad input (400), never a server error nor a half-written change.

Every write route is also swept by the contract (``test_a_lone_surrogate_in_the_body_is_400``)."""

import json

import pytest

from directory.models import Group, User
from invitations.models import Invitation
from policies.api.resources import b2b_policy_id
from policies.selectors import collaboration_settings_for
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db
PERMISSIONS = ["User.ReadWrite.All", "Group.ReadWrite.All", "User.Invite.All", "Policy.ReadWrite.Authorization"]


@pytest.fixture
def writer(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, PERMISSIONS))


def send(client, method: str, url: str, raw: str):
    return client.generic(method, url, raw, content_type="application/json")


def assert_bad_request(response):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest" and "surrogate" in error["message"]


def test_a_lone_surrogate_in_a_new_group_is_400_and_creates_nothing(api_tenant, writer):
    response = send(writer, "POST", "/v1.0/groups", '{"displayName": "Ops \\ud800", "mailNickname": "ops", '
                    '"mailEnabled": false, "securityEnabled": true}')
    assert_bad_request(response)
    assert not Group.objects.filter(tenant=api_tenant).exists()


def test_a_lone_surrogate_in_a_group_patch_is_400_and_changes_nothing(api_tenant, writer):
    group = GroupFactory(tenant=api_tenant, display_name="Ops")
    assert_bad_request(send(writer, "PATCH", f"/v1.0/groups/{group.pk}", '{"displayName": "\\udfff"}'))
    group.refresh_from_db()
    assert group.display_name == "Ops"


def test_a_lone_surrogate_in_a_user_patch_is_400_and_changes_nothing(api_tenant, writer):
    user = UserFactory(tenant=api_tenant, display_name="Mia")
    assert_bad_request(send(writer, "PATCH", f"/v1.0/users/{user.pk}", '{"displayName": "Mia \\ud800x"}'))
    user.refresh_from_db()
    assert user.display_name == "Mia"


def test_a_lone_surrogate_in_an_invitation_is_400_and_invites_nobody(api_tenant, writer):
    response = send(writer, "POST", "/v1.0/invitations", json.dumps({
        "invitedUserEmailAddress": "ann@fabrikam.example", "inviteRedirectUrl": "https://app.example/",
        "invitedUserDisplayName": "Ann \ud800"}))
    assert_bad_request(response)
    assert not Invitation.objects.exists()
    assert not User.objects.filter(tenant=api_tenant, mail="ann@fabrikam.example").exists()


def test_a_lone_surrogate_in_a_key_is_400(api_tenant, writer):
    user = UserFactory(tenant=api_tenant)
    assert_bad_request(send(writer, "PATCH", f"/v1.0/users/{user.pk}", '{"jobTitle\\ud800": "x"}'))


def test_a_surrogate_pair_is_an_ordinary_character(api_tenant, writer):
    user = UserFactory(tenant=api_tenant)
    response = send(writer, "PATCH", f"/v1.0/users/{user.pk}", '{"displayName": "Mia \\ud83d\\ude00"}')
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.display_name == "Mia 😀"


def test_a_lone_surrogate_inside_the_b2b_policy_definition_is_400(api_tenant, writer):
    # The definition is a JSON document inside a JSON string: its own "\ud800" escape survives the body.
    inner = '{"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": {"BlockedDomains": ["\\ud800.example"]}}}'
    response = writer.patch(f"/beta/policies/b2bManagementPolicies/{b2b_policy_id(api_tenant.pk)}",
                            {"definition": [inner]}, format="json")
    assert response.status_code == 400, response.content
    assert collaboration_settings_for(api_tenant).domains == []


@pytest.mark.parametrize("query", [
    "$filter=displayName%20eq%20%27%ED%A0%80%27", "$filter=%ED%A0%80", "$select=%ED%A0%80",
    "$orderby=%ED%A0%80", "$top=%ED%A0%80", "$filter=startswith(displayName,%27%5Cud800%27)",
])
def test_percent_encoded_surrogates_in_the_query_are_never_a_server_error(writer, query):
    response = writer.get(f"/v1.0/users?{query}")
    assert response.status_code in (200, 400), response.content
