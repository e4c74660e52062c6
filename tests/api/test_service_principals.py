"""/servicePrincipals and /servicePrincipals/{id}/appRoleAssignedTo."""

import pytest
from django.utils import timezone

from directory.models import AppRoleAssignment, AuditEvent, Role, User
from tests.api.contract import EndpointContract
from tests.factories import (
    ApplicationFactory,
    AssignmentFactory,
    GroupFactory,
    GuestFactory,
    TenantFactory,
    UserFactory,
    admin_of,
)

pytestmark = pytest.mark.django_db

DEFAULT_ROLE = "00000000-0000-0000-0000-000000000000"
APP_OWNERS_REFUSED = (
    "defect: an application's owner may manage who it is assigned to (directory/authz.py OWNER_CAPABILITIES; "
    "services.app_assignment_create/app_assignment_delete authorize with obj=application; Entra: app owners "
    "manage user assignments), but the API's _AssignmentBase sets no owners_may_write/owned_object, so "
    "GraphPermission and check_owner answer 403 before the service is asked")


def assign_body(app, principal) -> dict:
    return {"principalId": str(principal.pk), "resourceId": str(app.pk), "appRoleId": DEFAULT_ROLE}


# --- the access contract of every route -------------------------------------------------------


class TestListServicePrincipals(EndpointContract):
    route = "servicePrincipals"
    permission = "Application.Read.All"
    guest_status = 403  # guests have no Application.Read.All


class TestGetServicePrincipal(EndpointContract):
    route = "servicePrincipals/<str:sp_id>"
    permission = "Application.Read.All"
    guest_status = 403

    def make_target(self, tenant):
        return {"sp_id": ApplicationFactory(tenant=tenant).pk}


class TestListAppRoleAssignedTo(EndpointContract):
    route = "servicePrincipals/<str:sp_id>/appRoleAssignedTo"
    permission = "Application.Read.All"
    guest_status = 403

    def make_target(self, tenant):
        app = ApplicationFactory(tenant=tenant)
        AssignmentFactory(application=app, user=UserFactory(tenant=tenant))
        return {"sp_id": app.pk}


class TestCreateAppRoleAssignment(EndpointContract):
    route = "servicePrincipals/<str:sp_id>/appRoleAssignedTo"
    method = "post"
    permission = "AppRoleAssignment.ReadWrite.All"
    ok_status = 201
    guest_status = 403
    owner_kind = "application"
    owner_scope = "AppRoleAssignment.ReadWrite.All"

    def test_owner_may_write_what_it_owns_and_nothing_else(self, api, delegated_token_for):
        super().test_owner_may_write_what_it_owns_and_nothing_else(api, delegated_token_for)

    def make_target(self, tenant):
        app = ApplicationFactory(tenant=tenant)
        return {"sp_id": app.pk, "app": app, "user": UserFactory(tenant=tenant)}

    def body(self, tenant, target):
        return assign_body(target["app"], target["user"])


class TestGetAppRoleAssignment(EndpointContract):
    route = "servicePrincipals/<str:sp_id>/appRoleAssignedTo/<str:assignment_id>"
    permission = "Application.Read.All"
    guest_status = 403

    def make_target(self, tenant):
        assignment = AssignmentFactory(application=ApplicationFactory(tenant=tenant), user=UserFactory(tenant=tenant))
        return {"sp_id": assignment.application_id, "assignment_id": assignment.pk}


class TestDeleteAppRoleAssignment(EndpointContract):
    route = "servicePrincipals/<str:sp_id>/appRoleAssignedTo/<str:assignment_id>"
    method = "delete"
    permission = "AppRoleAssignment.ReadWrite.All"
    ok_status = 204
    guest_status = 403
    owner_kind = "application"
    owner_scope = "AppRoleAssignment.ReadWrite.All"

    def test_owner_may_write_what_it_owns_and_nothing_else(self, api, delegated_token_for):
        super().test_owner_may_write_what_it_owns_and_nothing_else(api, delegated_token_for)

    def make_target(self, tenant):
        assignment = AssignmentFactory(application=ApplicationFactory(tenant=tenant), group=GroupFactory(tenant=tenant))
        return {"sp_id": assignment.application_id, "assignment_id": assignment.pk}


# --- service principals -----------------------------------------------------------------------


def test_list_and_get_service_principals(api_tenant, app_token_for, api):
    crm = ApplicationFactory(tenant=api_tenant, display_name="CRM", description="", visible_to_users=False)
    ApplicationFactory(tenant=api_tenant, display_name="Wiki")
    ApplicationFactory(tenant=TenantFactory(), display_name="Elsewhere")
    client = api(app_token_for(api_tenant, ["Application.Read.All"]))
    body = client.get("/v1.0/servicePrincipals").json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#servicePrincipals")
    assert [sp["displayName"] for sp in body["value"]] == ["CRM", "Wiki"]
    item = client.get(f"/v1.0/servicePrincipals/{crm.pk}").json()
    assert item == {**item, "id": str(crm.pk), "appId": str(crm.app_id), "displayName": "CRM", "description": None,
                    "homepage": "https://app.example.com", "appRoleAssignmentRequired": True, "accountEnabled": True,
                    "servicePrincipalType": "Application", "tags": ["HideApp"], "appRoles": [],
                    "appOwnerOrganizationId": str(api_tenant.pk)}
    by_app_id = client.get("/v1.0/servicePrincipals", {"$filter": f"appId eq '{crm.app_id}'"}).json()["value"]
    assert [sp["id"] for sp in by_app_id] == [str(crm.pk)]
    wiki = client.get("/v1.0/servicePrincipals", {"$filter": "startswith(displayName,'wi')",
                                                  "$select": "displayName"}).json()["value"]
    assert [sp["displayName"] for sp in wiki] == ["Wiki"] and set(wiki[0]) == {"id", "displayName"}
    assert client.get("/v1.0/servicePrincipals/not-a-guid").status_code == 404
    assert client.get("/v1.0/servicePrincipals", {"$filter": "tags eq 'HideApp'"}).status_code == 400


def test_members_may_read_service_principals_but_not_assign(api_tenant, api, delegated_token_for):
    app, member = ApplicationFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    client = api(delegated_token_for(member, ["Application.Read.All", "AppRoleAssignment.ReadWrite.All"]))
    assert client.get(f"/v1.0/servicePrincipals/{app.pk}").status_code == 200
    assert client.post(f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo", assign_body(app, member),
                       format="json").status_code == 403
    app_admin = admin_of(api_tenant, Role.APPLICATION_ADMINISTRATOR)
    admin_client = api(delegated_token_for(app_admin, ["AppRoleAssignment.ReadWrite.All"]))
    response = admin_client.post(f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo", assign_body(app, member),
                                 format="json")
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(activity_display_name="Add app role assignment to user")
    assert event.initiated_by["user"]["id"] == str(app_admin.pk)


# --- appRoleAssignedTo ------------------------------------------------------------------------


def test_assign_to_a_user_and_a_group_in_graphs_shape(api_tenant, app_token_for, api):
    app = ApplicationFactory(tenant=api_tenant, display_name="CRM")
    ann = UserFactory(tenant=api_tenant, display_name="Ann")
    sales = GroupFactory(tenant=api_tenant, display_name="Sales")
    client = api(app_token_for(api_tenant, ["AppRoleAssignment.ReadWrite.All"]))
    url = f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo"
    response = client.post(url, {"@odata.type": "#microsoft.graph.appRoleAssignment", **assign_body(app, ann)},
                           format="json")
    assert response.status_code == 201, response.content
    assignment = AppRoleAssignment.objects.get(application=app, user=ann)
    assert response["Location"].endswith(f"{url}/{assignment.pk}")
    body = response.json()
    assert body["@odata.context"].endswith(f"/v1.0/$metadata#servicePrincipals('{app.pk}')/appRoleAssignedTo/$entity")
    body.pop("@odata.context")
    assert body == {
        "id": str(assignment.pk), "appRoleId": DEFAULT_ROLE,
        "createdDateTime": assignment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "deletedDateTime": None,
        "principalDisplayName": "Ann", "principalId": str(ann.pk), "principalType": "User",
        "resourceDisplayName": "CRM", "resourceId": str(app.pk),
    }
    assert client.post(url, assign_body(app, sales), format="json").status_code == 201
    listed = client.get(url).json()
    assert listed["@odata.context"].endswith(f"/v1.0/$metadata#servicePrincipals('{app.pk}')/appRoleAssignedTo")
    assert {(a["principalType"], a["principalDisplayName"]) for a in listed["value"]} == {("User", "Ann"),
                                                                                          ("Group", "Sales")}
    assert client.get(f"{url}/{assignment.pk}").json()["principalId"] == str(ann.pk)
    audits = AuditEvent.objects.filter(tenant=api_tenant, category="ApplicationManagement")
    assert audits.filter(activity_display_name="Add app role assignment to user").count() == 1
    [to_group] = audits.filter(activity_display_name="Add app role assignment to group")
    assert [t["id"] for t in to_group.target_resources] == [str(app.pk), str(sales.pk)]


def test_assigning_twice_is_400_like_graph(api_tenant, app_token_for, api):
    app, ann = ApplicationFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    AssignmentFactory(application=app, user=ann)
    response = api(app_token_for(api_tenant, ["AppRoleAssignment.ReadWrite.All"])).post(
        f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo", assign_body(app, ann), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Permission being assigned already exists on the object."


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"principalId": None}, "principalId"),
        ({"principalId": 12}, "principalId"),
        ({"principalId": "not-a-guid"}, "principalId"),
        ({"principalId": "x" * 100}, "principalId"),
        ({"resourceId": "8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"}, "resourceId"),
        ({"appRoleId": "8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"}, "Permission being assigned was not found"),
        ({"appRoleId": True}, "appRoleId"),
        ({"principalType": "User"}, "principalType"),  # read-only in Graph
        ({"isAdmin": True}, "isAdmin"),
    ],
)
def test_bad_assignment_bodies_are_400(api_tenant, app_token_for, api, change, fragment):
    app, ann = ApplicationFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    body = {**assign_body(app, ann), **change}
    response = api(app_token_for(api_tenant, ["AppRoleAssignment.ReadWrite.All"])).post(
        f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo", body, format="json")
    assert response.status_code == 400, response.content
    assert fragment in response.json()["error"]["message"]
    assert not AppRoleAssignment.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"principalId": NaN}', b"\xff", b""])
def test_malformed_assignment_json_is_400(api_tenant, app_token_for, api, raw):
    app = ApplicationFactory(tenant=api_tenant)
    response = api(app_token_for(api_tenant, ["AppRoleAssignment.ReadWrite.All"])).generic(
        "POST", f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "Request_BadRequest"


def test_another_tenants_principal_is_404_like_a_missing_one(api_tenant, app_token_for, api):
    app = ApplicationFactory(tenant=api_tenant)
    other = TenantFactory()
    client = api(app_token_for(api_tenant, ["AppRoleAssignment.ReadWrite.All"]))
    url = f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo"
    deleted = UserFactory(tenant=api_tenant, deleted_at=timezone.now())
    for principal in (UserFactory(tenant=other), GroupFactory(tenant=other), deleted):
        response = client.post(url, assign_body(app, principal), format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert not AppRoleAssignment.objects.exists()
    # and another tenant's application cannot take our users
    theirs = ApplicationFactory(tenant=other)
    ann = UserFactory(tenant=api_tenant)
    response = client.post(f"/v1.0/servicePrincipals/{theirs.pk}/appRoleAssignedTo", assign_body(theirs, ann),
                           format="json")
    assert response.status_code == 404


def test_delete_assignment(api_tenant, app_token_for, api):
    app, wiki = ApplicationFactory(tenant=api_tenant), ApplicationFactory(tenant=api_tenant)
    assignment = AssignmentFactory(application=app, user=UserFactory(tenant=api_tenant))
    client = api(app_token_for(api_tenant, ["AppRoleAssignment.ReadWrite.All"]))
    # through another application's URL it does not exist
    assert client.delete(f"/v1.0/servicePrincipals/{wiki.pk}/appRoleAssignedTo/{assignment.pk}").status_code == 404
    assert client.delete(f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo/nope").status_code == 404
    assert client.delete(f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo/{assignment.pk}").status_code == 204
    assert not AppRoleAssignment.objects.exists()
    assert AuditEvent.objects.filter(activity_display_name="Remove app role assignment from user").count() == 1
    assert client.delete(f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo/{assignment.pk}").status_code == 404


def test_soft_deleted_users_assignments_are_not_listed(api_tenant, app_token_for, api):
    app = ApplicationFactory(tenant=api_tenant)
    AssignmentFactory(application=app, user=UserFactory(tenant=api_tenant, deleted_at=timezone.now()))
    live = AssignmentFactory(application=app, user=GuestFactory(tenant=api_tenant))
    body = api(app_token_for(api_tenant, ["Application.Read.All"])).get(
        f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo").json()
    assert [a["id"] for a in body["value"]] == [str(live.pk)]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("principalType eq 'Group'", ["Sales"]),
        ("principalType eq 'User'", ["Ann", "Bob"]),
        ("startswith(principalDisplayName,'b')", ["Bob"]),
        ("principalDisplayName in ('ann', 'sales')", ["Ann", "Sales"]),
    ],
)
def test_assignment_filters(api_tenant, app_token_for, api, query, names):
    app = ApplicationFactory(tenant=api_tenant)
    for user in (UserFactory(tenant=api_tenant, display_name="Ann"), UserFactory(tenant=api_tenant, display_name="Bob")):
        AssignmentFactory(application=app, user=user)
    AssignmentFactory(application=app, group=GroupFactory(tenant=api_tenant, display_name="Sales"))
    response = api(app_token_for(api_tenant, ["Application.Read.All"])).get(
        f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo", {"$filter": query, "$orderby": "principalDisplayName"})
    assert response.status_code == 200, response.content
    assert [a["principalDisplayName"] for a in response.json()["value"]] == names


def test_filter_by_principal_id_and_count(api_tenant, app_token_for, api):
    app = ApplicationFactory(tenant=api_tenant)
    ann, sales = UserFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    AssignmentFactory(application=app, user=ann)
    AssignmentFactory(application=app, group=sales)
    client = api(app_token_for(api_tenant, ["Application.Read.All"]))
    url = f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo"
    for principal in (ann, sales):
        body = client.get(url, {"$filter": f"principalId eq {principal.pk}", "$count": "true"}).json()
        assert [a["principalId"] for a in body["value"]] == [str(principal.pk)] and body["@odata.count"] == 1
    for bad in ("principalId eq 'nope'", "principalType eq 'Robot'", "appRoleId eq 'x'", "resourceDisplayName eq 'x'"):
        response = client.get(url, {"$filter": bad})
        assert response.status_code == 400, (bad, response.content)


def test_paging_through_assignments_with_constant_queries(api_tenant, app_token_for, api,
                                                          django_assert_max_num_queries):
    app = ApplicationFactory(tenant=api_tenant)
    users = User.objects.bulk_create(User(tenant=api_tenant, display_name=f"U{i:03}",
                                          user_principal_name=f"u{i}@tailwind.example") for i in range(260))
    AppRoleAssignment.objects.bulk_create(AppRoleAssignment(tenant=api_tenant, application=app, user=u) for u in users)
    client = api(app_token_for(api_tenant, ["Application.Read.All"]))
    for order, expected in (("", None), ("&$orderby=principalDisplayName desc",
                                         [f"U{i:03}" for i in reversed(range(260))])):
        seen, url = [], f"/v1.0/servicePrincipals/{app.pk}/appRoleAssignedTo?$top=60{order}"
        while url:
            with django_assert_max_num_queries(6):
                body = client.get(url).json()
            seen += [a["principalDisplayName"] for a in body["value"]]
            url = body.get("@odata.nextLink")
        assert len(seen) == len(set(seen)) == 260
        if expected:
            assert seen == expected
