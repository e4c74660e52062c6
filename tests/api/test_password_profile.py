"""POST /users keeps passwordProfile's forceChangePasswordNextSignIn and …WithMfa (issue 9, found by probing: both
were accepted and ignored); what they make the person do is tests/directory/test_forced_password_change.py."""

import pytest

from directory.models import User
from tests.api.test_user_provisioning import _member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("profile", "required", "with_mfa"), [
    ({"forceChangePasswordNextSignIn": True}, True, False),
    ({"forceChangePasswordNextSignInWithMfa": True}, True, True),
    ({"forceChangePasswordNextSignIn": False}, False, False),
    ({}, False, False),
])
def test_post_users_keeps_graphs_password_profile_flags(api_tenant, app_token_for, api, profile, required, with_mfa):
    client = api(app_token_for(api_tenant, ["User.ReadWrite.All"]))
    body = _member("dee@tailwind.example")
    body["passwordProfile"].update(profile)

    response = client.post("/v1.0/users", body, format="json")

    assert response.status_code == 201, response.content
    account = User.objects.get(pk=response.json()["id"]).account
    assert (account.password_change_required, account.password_change_requires_mfa) == (required, with_mfa)
