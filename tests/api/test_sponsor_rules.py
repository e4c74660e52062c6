"""sponsors/$ref keeps the sponsor rules the console and invitations keep: never oneself, at most 5."""

import pytest

from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db


def ref(user) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{user.pk}"}


@pytest.fixture
def admin_api(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Directory.ReadWrite.All"]))


def test_a_user_cannot_sponsor_itself_a_400_with_the_reason(api_tenant, admin_api):
    guest = GuestFactory(tenant=api_tenant)
    response = admin_api.post(f"/v1.0/users/{guest.pk}/sponsors/$ref", ref(guest), format="json")
    assert response.status_code == 400 and "cannot sponsor itself" in response.json()["error"]["message"]
    assert not guest.sponsors.exists()


def test_a_sixth_sponsor_is_refused(api_tenant, admin_api):
    guest = GuestFactory(tenant=api_tenant)
    people = UserFactory.create_batch(6, tenant=api_tenant)
    for person in people[:5]:
        assert admin_api.post(f"/v1.0/users/{guest.pk}/sponsors/$ref", ref(person), format="json").status_code == 204
    response = admin_api.post(f"/v1.0/users/{guest.pk}/sponsors/$ref", ref(people[5]), format="json")
    assert response.status_code == 400 and "at most 5 sponsors" in response.json()["error"]["message"]
    assert guest.sponsors.count() == 5
