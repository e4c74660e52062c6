"""PATCH /identityGovernance/entitlementManagement/settings: the lifecycle fields are checked precisely."""

import pytest

from entitlements.models import EntitlementSettings

B = "identityGovernance/entitlementManagement/"
WRITE = "EntitlementManagement.ReadWrite.All"

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["-P1D", "P4000D", "P1D\x00", "", None, 30])
def test_a_duration_that_is_negative_endless_or_not_one_is_a_400_and_nothing_changes(api, app_token_for, api_tenant,
                                                                                        value):
    client = api(app_token_for(api_tenant, [WRITE]))
    response = client.patch(f"/v1.0/{B}settings", {"durationUntilExternalUserDeletedAfterBlocked": value},
                            format="json")
    assert response.status_code == 400, response.content
    assert "durationUntilExternalUserDeletedAfterBlocked" in response.json()["error"]["message"]
    assert client.get(f"/v1.0/{B}settings").json()["durationUntilExternalUserDeletedAfterBlocked"] == "P30D"


def test_an_unknown_lifecycle_action_is_a_400(api, app_token_for, api_tenant):
    client = api(app_token_for(api_tenant, [WRITE]))
    response = client.patch(f"/v1.0/{B}settings", {"externalUserLifecycleAction": "deleteNow"}, format="json")
    assert response.status_code == 400


def test_zero_days_removes_at_once_and_the_action_round_trips(api, app_token_for, api_tenant):
    client = api(app_token_for(api_tenant, [WRITE]))
    response = client.patch(f"/v1.0/{B}settings", {"externalUserLifecycleAction": "blockSignIn",
                                                   "durationUntilExternalUserDeletedAfterBlocked": "PT0S"},
                            format="json")
    assert response.status_code == 204, response.content
    body = client.get(f"/v1.0/{B}settings").json()
    assert body["externalUserLifecycleAction"] == "blockSignIn"
    settings = EntitlementSettings.objects.get(tenant=api_tenant)
    assert settings.duration_until_external_user_deleted_after_blocked.total_seconds() == 0
