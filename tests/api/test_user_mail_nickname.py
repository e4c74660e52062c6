"""A user's mailNickname is kept, returned, filterable and checked as Graph's (issue 9, found by probing the API:
POST /users required it, then stored nothing, and `$select=mailNickname` was a 400)."""

import pytest

from directory.models import User
from tests.api.test_user_provisioning import _member

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All"]))


def test_a_users_mail_nickname_is_stored_returned_filtered_and_patched(client):
    created = client.post("/v1.0/users", _member("dee@tailwind.example", mailNickname="dee.m"), format="json")
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]

    selected = client.get(f"/v1.0/users/{user_id}", {"$select": "id,mailNickname"}).json()
    found = client.get("/v1.0/users", {"$filter": "mailNickname eq 'DEE.M'", "$select": "id"}).json()["value"]
    patched = client.patch(f"/v1.0/users/{user_id}", {"mailNickname": "dee2"}, format="json")

    assert selected["mailNickname"] == "dee.m"
    assert [u["id"] for u in found] == [user_id]
    assert patched.status_code == 204, patched.content
    assert User.objects.get(pk=user_id).mail_nickname == "dee2"
    assert "mailNickname" not in client.get(f"/v1.0/users/{user_id}").json()  # not a default property, as in Graph


@pytest.mark.parametrize("nickname", ["a b", "a@b", "é", "semi;colon", "x" * 65])
def test_a_mail_nickname_graph_refuses_is_a_400_and_nothing_is_written(client, nickname):
    response = client.post("/v1.0/users", _member("dee@tailwind.example", mailNickname=nickname), format="json")

    assert response.status_code == 400, response.content
    assert "mailNickname" in response.json()["error"]["message"]
    assert not User.objects.filter(user_principal_name="dee@tailwind.example").exists()
