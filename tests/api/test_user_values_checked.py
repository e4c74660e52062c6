"""Values a user keeps are checked where they are written (issue 9, found by probing the API): otherMails holds
addresses, each once (a redemption reset matches against them); a display name shows something."""

import pytest

from directory.models import User
from tests.api.test_user_provisioning import _member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All"]))


@pytest.mark.parametrize("other_mails", [["notmail"], [""], ["a@x.example", "A@X.example"]])
def test_other_mails_that_are_not_addresses_or_repeat_are_a_400(api_tenant, client, other_mails):
    user = UserFactory(tenant=api_tenant, other_mails=["kept@x.example"])

    response = client.patch(f"/v1.0/users/{user.pk}", {"otherMails": other_mails}, format="json")

    assert response.status_code == 400, response.content
    assert "otherMails" in response.json()["error"]["message"]
    user.refresh_from_db()
    assert user.other_mails == ["kept@x.example"]


def test_other_mails_of_distinct_addresses_are_kept(api_tenant, client):
    user = UserFactory(tenant=api_tenant)
    response = client.patch(f"/v1.0/users/{user.pk}", {"otherMails": ["a@x.example", "b@x.example"]}, format="json")
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.other_mails == ["a@x.example", "b@x.example"]


@pytest.mark.parametrize("name", ["   ", "\u202e\u200b", "\t"])
def test_a_display_name_that_shows_nothing_is_a_400(client, name):
    response = client.post("/v1.0/users", _member("dee@tailwind.example", displayName=name), format="json")

    assert response.status_code == 400, response.content
    assert "displayName" in response.json()["error"]["message"]
    assert not User.objects.filter(user_principal_name="dee@tailwind.example").exists()
