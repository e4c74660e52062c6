"""Graph's inactive-guests query: GET /users?$filter=userType eq 'Guest' and
signInActivity/lastSignInDateTime le … (needs AuditLog.Read.All, as in Graph)."""

import datetime

import pytest

from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)


def test_guests_inactive_since_a_date_are_listed_and_members_and_recent_guests_are_not(api_tenant, app_token_for,
                                                                                      api):
    stale = GuestFactory(tenant=api_tenant, last_sign_in_at=T0)
    GuestFactory(tenant=api_tenant, last_sign_in_at=T0 + datetime.timedelta(days=60))
    GuestFactory(tenant=api_tenant)  # never signed in: null is not "le" a date, as in Graph
    UserFactory(tenant=api_tenant, last_sign_in_at=T0)
    reader = api(app_token_for(api_tenant, ["User.Read.All", "AuditLog.Read.All"]))
    response = reader.get("/v1.0/users", {
        "$filter": "userType eq 'Guest' and signInActivity/lastSignInDateTime le 2026-04-01T00:00:00Z",
        "$select": "id,displayName,signInActivity"})
    assert response.status_code == 200, response.content
    body = response.json()["value"]
    assert [u["id"] for u in body] == [str(stale.pk)]
    assert body[0]["signInActivity"]["lastSignInDateTime"] == "2026-03-01T12:00:00Z"


def test_without_the_audit_log_permission_the_filter_is_refused(api_tenant, app_token_for, api):
    plain = api(app_token_for(api_tenant, ["User.Read.All"]))
    response = plain.get("/v1.0/users", {
        "$filter": "userType eq 'Guest' and signInActivity/lastSignInDateTime le 2026-04-01T00:00:00Z"})
    assert response.status_code == 403


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "'2026-04-01'", "2026-04-01T00:00:00Z\x00", "null x"])
def test_a_bad_date_is_a_400_not_a_500(api_tenant, app_token_for, api, value):
    reader = api(app_token_for(api_tenant, ["User.Read.All", "AuditLog.Read.All"]))
    response = reader.get("/v1.0/users", {"$filter": f"signInActivity/lastSignInDateTime le {value}"})
    assert response.status_code == 400, response.content
