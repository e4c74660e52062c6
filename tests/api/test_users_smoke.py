import pytest

from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_app_token_lists_users(api_tenant, app_token_for, api):
    UserFactory(tenant=api_tenant, display_name="Ann")
    GuestFactory(tenant=api_tenant, display_name="Gus")
    token = app_token_for(api_tenant, ["User.Read.All"])
    response = api(token).get("/v1.0/users?$filter=userType eq 'Guest'&$select=displayName,userType")
    assert response.status_code == 200, response.content
    assert response.json()["value"] == [{"id": response.json()["value"][0]["id"], "displayName": "Gus",
                                         "userType": "Guest"}]
