"""/auditLogs/directoryAudits: filters on time, activity and initiator; newest first; paging."""

import datetime
import uuid

import pytest

from directory.models import AuditEvent, Role
from tests.api.contract import EndpointContract
from tests.factories import TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
ANN = "3b0e9a51-6c8b-4f0e-9b7e-2a1d2c3e4f50"


def event(tenant, minutes=0, **fields) -> AuditEvent:
    defaults = {"activity_display_name": "Add user", "category": "UserManagement", "operation_type": "Add",
                "activity_date_time": T0 + datetime.timedelta(minutes=minutes)}
    return AuditEvent.objects.create(tenant=tenant, **{**defaults, **fields})


def by(user_id: str, upn: str) -> dict:
    return {"initiated_by": {"user": {"id": user_id, "displayName": upn, "userPrincipalName": upn, "ipAddress": None}},
            "initiated_by_user_id": user_id}


# --- the access contract of every route -------------------------------------------------------


class TestListDirectoryAudits(EndpointContract):
    route = "auditLogs/directoryAudits"
    permission = "AuditLog.Read.All"
    other_permission = "Directory.Read.All"  # reading the directory is not reading its audit log
    guest_status = 403
    member_status = 403  # the audit log is the Global and Security Administrators' (directory/authz.py)

    def make_target(self, tenant):
        event(tenant)
        return {}


class TestGetDirectoryAudit(EndpointContract):
    route = "auditLogs/directoryAudits/<str:audit_id>"
    permission = "AuditLog.Read.All"
    other_permission = "Directory.Read.All"
    guest_status = 403
    member_status = 403

    def make_target(self, tenant):
        return {"audit_id": event(tenant).pk}


# --- behaviour --------------------------------------------------------------------------------


@pytest.fixture
def auditor(api_tenant, app_token_for, api):
    """A client with AuditLog.Read.All; registering its app wrote an audit row, which is cleared."""
    client = api(app_token_for(api_tenant, ["AuditLog.Read.All"]))
    AuditEvent.objects.filter(tenant=api_tenant).delete()
    return client


def test_newest_first_in_graphs_shape(api_tenant, auditor):
    old = event(api_tenant, 0, **by(ANN, "ann@tailwind.example"))
    new = event(api_tenant, 5, activity_display_name="Delete group", category="GroupManagement",
                operation_type="Delete", result="failure", result_reason="Blocked",
                target_resources=[{"id": "g", "type": "Group", "displayName": "Sales", "userPrincipalName": None,
                                   "modifiedProperties": []}])
    client = auditor
    body = client.get("/v1.0/auditLogs/directoryAudits").json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#auditLogs/directoryAudits")
    assert [e["id"] for e in body["value"]] == [str(new.pk), str(old.pk)]
    first = body["value"][0]
    assert first == {
        "id": str(new.pk), "activityDateTime": "2026-03-01T12:05:00Z", "activityDisplayName": "Delete group",
        "category": "GroupManagement", "correlationId": str(new.correlation_id),
        "initiatedBy": {"user": None, "app": None}, "loggedByService": "Core Directory", "operationType": "Delete",
        "result": "failure", "resultReason": "Blocked", "targetResources": new.target_resources,
        "additionalDetails": [],
    }
    assert body["value"][1]["initiatedBy"]["user"]["id"] == ANN
    ascending = client.get("/v1.0/auditLogs/directoryAudits", {"$orderby": "activityDateTime"}).json()
    assert [e["id"] for e in ascending["value"]] == [str(old.pk), str(new.pk)]
    item = client.get(f"/v1.0/auditLogs/directoryAudits/{old.pk}").json()
    assert item["@odata.context"].endswith("/v1.0/$metadata#auditLogs/directoryAudits/$entity")
    assert item["id"] == str(old.pk)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("activityDateTime ge 2026-03-01T12:10:00Z", ["fail", "group"]),
        ("activityDateTime ge 2026-03-01T12:05:00Z and activityDateTime le 2026-03-01T12:10:00Z", ["group", "ann"]),
        ("activityDateTime lt 2026-03-01T12:05:00+00:00", ["sys"]),
        ("activityDisplayName eq 'add MEMBER to group'", ["group"]),
        ("startswith(activityDisplayName,'Add')", ["group", "ann", "sys"]),
        ("category eq 'GroupManagement'", ["group"]),
        (f"initiatedBy/user/id eq '{ANN}'", ["fail", "ann"]),
        (f"initiatedBy/user/id eq {ANN}", ["fail", "ann"]),
        ("initiatedBy/user/userPrincipalName eq 'ANN@tailwind.example'", ["fail", "ann"]),
        ("startswith(initiatedBy/user/userPrincipalName,'ann@')", ["fail", "ann"]),
        ("initiatedBy/app/displayName eq 'B2B Portal'", ["sys"]),
        ("result eq 'failure'", ["fail"]),
        ("result ne 'failure' and category eq 'UserManagement'", ["ann", "sys"]),
        ("operationType eq 'Assign' or loggedByService eq 'Invited Users'", ["group", "sys"]),
    ],
)
def test_filters(api_tenant, auditor, query, expected):
    rows = {
        "sys": event(api_tenant, 0, initiated_by={"app": {"displayName": "B2B Portal", "servicePrincipalName": "system"}},
                     logged_by_service="Invited Users"),
        "ann": event(api_tenant, 5, **by(ANN, "ann@tailwind.example")),
        "group": event(api_tenant, 10, activity_display_name="Add member to group", category="GroupManagement",
                       operation_type="Assign"),
        "fail": event(api_tenant, 15, activity_display_name="Delete user", operation_type="Delete", result="failure",
                      **by(ANN, "ann@tailwind.example")),
    }
    names = {str(e.pk): name for name, e in rows.items()}
    response = auditor.get("/v1.0/auditLogs/directoryAudits", {"$filter": query})
    assert response.status_code == 200, response.content
    assert [names[e["id"]] for e in response.json()["value"]] == expected


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$filter": "activityDateTime ge 'yesterday'"}, "Request_BadRequest"),
        ({"$filter": "activityDateTime ge 2026-13-45T99:00:00Z"}, "Request_BadRequest"),
        ({"$filter": "activityDateTime ge 2026-02-30T10:00:00Z"}, "Request_BadRequest"),  # was a 500
        ({"$filter": "activityDateTime ge 20260301"}, "Request_BadRequest"),
        ({"$filter": "result eq 'bogus'"}, "Request_BadRequest"),
        ({"$filter": "result gt 'failure'"}, "Request_UnsupportedQuery"),
        ({"$filter": "initiatedBy/user/id eq 'ann'"}, "Request_BadRequest"),
        ({"$filter": "initiatedBy/user/ipAddress eq '1.2.3.4'"}, "Request_BadRequest"),
        ({"$filter": "targetResources/any(t: t/id eq 'x')"}, "Request_UnsupportedQuery"),
        ({"$filter": "resultReason eq 'x'"}, "Request_UnsupportedQuery"),
        ({"$filter": "category eq 'x' and"}, "Request_UnsupportedQuery"),
        ({"$filter": "category eq 'x' union select * from directory_account"}, "Request_UnsupportedQuery"),
        ({"$filter": "not(" * 40 + "category eq 'x'" + ")" * 40}, "Request_UnsupportedQuery"),
        ({"$orderby": "category"}, "Request_UnsupportedQuery"),
        ({"$orderby": "activityDateTime sideways"}, "Request_UnsupportedQuery"),
        ({"$top": "0"}, "Request_BadRequest"),
        ({"$top": "100000"}, "Request_BadRequest"),
        ({"$skiptoken": "x" * 500}, "Request_BadRequest"),
        ({"$search": "x"}, "Request_UnsupportedQuery"),
        ({"$select": "activityDisplayName,password"}, "Request_BadRequest"),
    ],
)
def test_bad_queries_are_400(api_tenant, app_token_for, api, params, code):
    event(api_tenant)
    response = api(app_token_for(api_tenant, ["AuditLog.Read.All"])).get("/v1.0/auditLogs/directoryAudits", params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


def test_a_long_chain_of_nots_is_answered_not_crashed(api_tenant, auditor):
    event(api_tenant, category="Other")
    response = auditor.get("/v1.0/auditLogs/directoryAudits", {"$filter": "not " * 495 + "category eq 'x'"})
    assert response.status_code == 200  # an odd number of nots: category ne 'x'
    assert [e["category"] for e in response.json()["value"]] == ["Other"]


def test_a_skiptoken_for_another_order_is_refused(api_tenant, app_token_for, api):
    for minute in range(3):
        event(api_tenant, minute)
    client = api(app_token_for(api_tenant, ["AuditLog.Read.All"]))
    next_link = client.get("/v1.0/auditLogs/directoryAudits", {"$top": "1"}).json()["@odata.nextLink"]
    from urllib.parse import parse_qs, urlsplit

    token = parse_qs(urlsplit(next_link).query)["$skiptoken"][0]
    response = client.get("/v1.0/auditLogs/directoryAudits",
                          {"$top": "1", "$orderby": "activityDateTime asc", "$skiptoken": token})
    assert response.status_code == 400


def test_count_without_consistency_level(api_tenant, auditor):
    for minute in range(3):
        event(api_tenant, minute)
    body = auditor.get("/v1.0/auditLogs/directoryAudits", {"$count": "true", "$top": "1"}).json()
    assert body["@odata.count"] == 3 and len(body["value"]) == 1


def test_paging_newest_first_through_every_row_once(api_tenant, app_token_for, api, django_assert_max_num_queries):
    # three rows share each timestamp: the order is (activityDateTime desc, id), so no row is skipped or repeated
    AuditEvent.objects.bulk_create(
        AuditEvent(tenant=api_tenant, activity_display_name=f"Row {i}", category="UserManagement",
                   activity_date_time=T0 + datetime.timedelta(minutes=i // 3)) for i in range(270))
    AuditEvent.objects.bulk_create(AuditEvent(tenant=TenantFactory(), activity_display_name="Theirs",
                                              category="UserManagement") for _ in range(5))
    client = api(app_token_for(api_tenant, ["AuditLog.Read.All"]))
    expected = list(AuditEvent.objects.filter(tenant=api_tenant, activity_display_name__startswith="Row")
                    .order_by("-activity_date_time", "id").values_list("id", flat=True))
    seen, url, pages = [], "/v1.0/auditLogs/directoryAudits?$top=50&$filter=startswith(activityDisplayName,'Row')", 0
    while url:
        with django_assert_max_num_queries(5):
            body = client.get(url).json()
        seen += [uuid.UUID(e["id"]) for e in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert seen == expected and len(seen) == 270
    assert pages == 6


def test_only_the_callers_tenant(api_tenant, app_token_for, api):
    mine = event(api_tenant)
    theirs = event(TenantFactory())
    platform = event(None)  # platform-level events belong to no tenant
    client = api(app_token_for(api_tenant, ["AuditLog.Read.All"]))
    ids = [e["id"] for e in client.get("/v1.0/auditLogs/directoryAudits", {"$filter": "category eq 'UserManagement'"})
           .json()["value"]]
    assert ids == [str(mine.pk)]
    for other in (theirs, platform):
        response = client.get(f"/v1.0/auditLogs/directoryAudits/{other.pk}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert client.get("/v1.0/auditLogs/directoryAudits/not-a-guid").status_code == 404


def test_signed_in_users_need_an_auditing_role(api_tenant, api, delegated_token_for):
    event(api_tenant)
    member = UserFactory(tenant=api_tenant)
    groups_admin = admin_of(api_tenant, Role.GROUPS_ADMINISTRATOR)
    security_admin = admin_of(api_tenant, Role.SECURITY_ADMINISTRATOR)
    for user, status in ((member, 403), (groups_admin, 403), (security_admin, 200)):
        response = api(delegated_token_for(user, ["AuditLog.Read.All"])).get("/v1.0/auditLogs/directoryAudits")
        assert response.status_code == status, user


def test_api_writes_show_up_in_the_audit_log(api_tenant, app_token_for, api):
    client = api(app_token_for(api_tenant, ["Group.ReadWrite.All", "AuditLog.Read.All"]))
    created = client.post("/v1.0/groups", {"displayName": "Audited", "mailNickname": "audited", "mailEnabled": False,
                                           "securityEnabled": True}, format="json").json()
    body = client.get("/v1.0/auditLogs/directoryAudits",
                      {"$filter": "category eq 'GroupManagement' and activityDisplayName eq 'Add group'"}).json()
    [row] = body["value"]
    assert row["operationType"] == "Add" and row["result"] == "success"
    assert row["targetResources"][0]["id"] == created["id"]
    assert row["targetResources"][0]["type"] == "Group"
