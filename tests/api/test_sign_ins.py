"""/auditLogs/signIns: Graph's signIn shape, newest first, $filter on createdDateTime, userId, appId and
status/errorCode, keyset paging; and a user's signInActivity."""

import datetime
import uuid

import pytest
from django.db import connection

from directory.models import SignInEvent
from tests.api.contract import EndpointContract
from tests.factories import ApplicationFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def sign_in(tenant, minutes=0, **fields) -> SignInEvent:
    defaults = {"created_at": T0 + datetime.timedelta(minutes=minutes), "result": "success",
                "user_principal_name": "ann@tailwind.example", "ip_address": "203.0.113.7"}
    return SignInEvent.objects.create(tenant=tenant, **{**defaults, **fields})


class TestListSignIns(EndpointContract):
    route = "auditLogs/signIns"
    permission = "AuditLog.Read.All"
    other_permission = "Directory.Read.All"  # reading the directory is not reading its sign-in log
    guest_status = 403
    member_status = 403

    def make_target(self, tenant):
        sign_in(tenant)
        return {}


class TestGetSignIn(EndpointContract):
    route = "auditLogs/signIns/<str:sign_in_id>"
    permission = "AuditLog.Read.All"
    other_permission = "Directory.Read.All"
    guest_status = 403
    member_status = 403

    def make_target(self, tenant):
        return {"sign_in_id": sign_in(tenant).pk}


@pytest.fixture
def reader(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["AuditLog.Read.All"]))


def test_newest_first_in_graphs_shape(api_tenant, reader):
    user = UserFactory(tenant=api_tenant)
    app = ApplicationFactory(tenant=api_tenant, display_name="Partner Portal")
    old = sign_in(api_tenant, 0, user=user)
    new = sign_in(api_tenant, 5, user=user, application=app, app_display_name="Partner Portal", resource="app",
                  result="failure", error_code=53003, failure_reason="Blocked by conditional access.",
                  conditional_access_status="failure", authentication_methods=["code"],
                  applied_policies=[{"id": "p1", "displayName": "Block", "result": "failure",
                                     "enforcedGrantControls": ["block"], "enforcedSessionControls": []}])
    body = reader.get("/v1.0/auditLogs/signIns").json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#auditLogs/signIns")
    assert [e["id"] for e in body["value"]] == [str(new.pk), str(old.pk)]
    first = body["value"][0]
    assert first["createdDateTime"] == "2026-03-01T12:05:00Z"
    assert (first["userId"], first["appId"], first["appDisplayName"]) == (str(user.pk), str(app.app_id), "Partner Portal")
    assert first["status"] == {"errorCode": 53003, "failureReason": "Blocked by conditional access.",
                               "additionalDetails": None}
    assert first["conditionalAccessStatus"] == "failure"
    assert first["appliedConditionalAccessPolicies"] == [{"id": "p1", "displayName": "Block", "result": "failure",
                                                         "enforcedGrantControls": ["block"],
                                                         "enforcedSessionControls": []}]
    assert first["resourceTenantId"] == str(api_tenant.pk) and first["ipAddress"] == "203.0.113.7"
    item = reader.get(f"/v1.0/auditLogs/signIns/{old.pk}").json()
    assert item["id"] == str(old.pk) and item["status"]["errorCode"] == 0


def test_filters(api_tenant, reader):
    ann, bob = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    app = ApplicationFactory(tenant=api_tenant)
    rows = {
        "a": sign_in(api_tenant, 0, user=ann),
        "b": sign_in(api_tenant, 5, user=bob, application=app),
        "c": sign_in(api_tenant, 10, user=ann, result="failure", error_code=53003),
    }
    names = {str(e.pk): n for n, e in rows.items()}

    def ask(query):
        response = reader.get("/v1.0/auditLogs/signIns", {"$filter": query})
        assert response.status_code == 200, response.content
        return [names[e["id"]] for e in response.json()["value"]]

    assert ask("createdDateTime ge 2026-03-01T12:05:00Z") == ["c", "b"]
    assert ask(f"userId eq '{ann.pk}'") == ["c", "a"]
    assert ask(f"appId eq '{app.app_id}'") == ["b"]
    assert ask("status/errorCode eq 0") == ["b", "a"]
    assert ask("status/errorCode ne 0") == ["c"]
    assert ask(f"userId eq '{uuid.uuid4()}'") == []


def test_keyset_paging_walks_every_row_once_in_fixed_queries(api_tenant, reader, django_assert_max_num_queries):
    app = ApplicationFactory(tenant=api_tenant)
    SignInEvent.objects.bulk_create([
        SignInEvent(tenant=api_tenant, created_at=T0 + datetime.timedelta(seconds=i // 2), result="success",
                    application=app if i % 3 else None) for i in range(45)])
    seen, url = [], "/v1.0/auditLogs/signIns?$top=10"
    while url:
        with django_assert_max_num_queries(6):
            body = reader.get(url).json()
        seen += [e["id"] for e in body["value"]]
        url = body.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 45


def test_another_tenants_sign_ins_are_not_listed(api_tenant, reader):
    sign_in(TenantFactory())
    assert reader.get("/v1.0/auditLogs/signIns").json()["value"] == []


def test_sign_in_activity_needs_select_and_the_audit_log_permission(api_tenant, app_token_for, api):
    ann = UserFactory(tenant=api_tenant, last_sign_in_at=T0)
    UserFactory(tenant=api_tenant)  # never signed in
    plain = api(app_token_for(api_tenant, ["User.Read.All"]))
    assert "signInActivity" not in plain.get(f"/v1.0/users/{ann.pk}").json()
    refused = plain.get(f"/v1.0/users/{ann.pk}", {"$select": "id,signInActivity"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"
    assert plain.get("/v1.0/users", {"$filter": "signInActivity/lastSignInDateTime le 2026-04-01T00:00:00Z"}
                     ).status_code == 403

    reader = api(app_token_for(api_tenant, ["User.Read.All", "AuditLog.Read.All"]))
    body = reader.get(f"/v1.0/users/{ann.pk}", {"$select": "id,signInActivity"}).json()
    assert body["signInActivity"]["lastSignInDateTime"] == "2026-03-01T12:00:00Z"
    # inactive guests' report: who has not signed in since a date (those never signed in have null)
    stale = reader.get("/v1.0/users", {"$filter": "signInActivity/lastSignInDateTime le 2026-04-01T00:00:00Z",
                                       "$select": "id"}).json()
    assert [u["id"] for u in stale["value"]] == [str(ann.pk)]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner and indexes")
def test_sign_in_pages_are_index_ranges_without_a_sort_on_postgresql(api_tenant):
    from directory.api import odata
    from directory.api.resources import SIGN_IN

    SignInEvent.objects.bulk_create(
        SignInEvent(tenant=api_tenant, created_at=T0 + datetime.timedelta(seconds=i), result="success")
        for i in range(500))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_signinevent")
    order = [(SIGN_IN.prop("createdDateTime"), True)]
    ordering = odata.ordering_for(order, "pk")
    queryset = SignInEvent.objects.filter(tenant=api_tenant)
    first = queryset.order_by(*ordering)[:101].explain()
    token = odata.make_skiptoken(order, queryset.order_by("created_at").first(), "pk")
    deep = odata.apply_skiptoken(queryset, order, token, "pk").order_by(*ordering)[:101].explain()
    for plan in (first, deep):
        assert "signin_tenant_time_idx" in plan and "Sort" not in plan, plan


def test_a_real_sign_in_logs_the_country_its_address_resolves_to(api_tenant, reader):
    """The decision resolves the client address to a country (offline database); the log keeps it and
    Graph returns it as location.countryOrRegion."""
    from directory.access import AccessRequest, evaluate_access
    from directory.services.signins import sign_in_event_record

    user = UserFactory(tenant=api_tenant)
    request = AccessRequest(tenant=api_tenant, user=user, account=None, ip="193.99.144.80")
    sign_in_event_record(access_request=request, decision=evaluate_access(request))
    row = reader.get(f"/v1.0/auditLogs/signIns?$filter=userId eq '{user.pk}'").json()["value"][0]
    assert row["location"]["countryOrRegion"] == "DE" and row["ipAddress"] == "193.99.144.80"
