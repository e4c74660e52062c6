"""A user principal name's alias takes Graph's characters only (issue 9, found by probing the API: spaces, '/',
';', '%' and accented letters were accepted, and a UPN with '/' could not be looked up again)."""

import pytest

from directory.models import User
from tests.api.test_user_provisioning import _member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All"]))


@pytest.mark.parametrize("alias", ["a b", "a\tb", "sl/ash", "semi;colon", 'quo"te', "per%cent", ".dot", "dot.",
                                   "two..dots", "Qué", "x" * 65])
def test_a_upn_alias_with_characters_graph_refuses_is_a_400(client, alias):
    upn = f"{alias}@tailwind.example"

    response = client.post("/v1.0/users", _member(upn, mailNickname="nick"), format="json")

    assert response.status_code == 400, response.content
    assert "userPrincipalName" in response.json()["error"]["message"]
    assert not User.objects.filter(user_principal_name=upn).exists()


def test_every_character_graph_allows_in_an_alias_is_accepted(client):
    upn = "o'neil.smith-x_1!^~" + "y" * 45 + "@tailwind.example"  # 64 characters before the @

    response = client.post("/v1.0/users", _member(upn, mailNickname="oneil"), format="json")

    assert response.status_code == 201, response.content
    assert client.get(f"/v1.0/users/{response.json()['id']}").json()["userPrincipalName"] == upn


def test_a_patch_to_a_bad_upn_is_refused_but_an_older_user_with_one_can_still_be_changed(api_tenant, client):
    user = UserFactory(tenant=api_tenant, user_principal_name="sl/ash@tailwind.example")

    bad = client.patch(f"/v1.0/users/{user.pk}", {"userPrincipalName": "new one@tailwind.example"}, format="json")
    other_change = client.patch(f"/v1.0/users/{user.pk}", {"jobTitle": "Engineer"}, format="json")

    assert bad.status_code == 400, bad.content
    assert other_change.status_code == 204, other_change.content
    user.refresh_from_db()
    assert user.user_principal_name == "sl/ash@tailwind.example" and user.job_title == "Engineer"
