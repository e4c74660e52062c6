"""/identityGovernance/entitlementManagement/…: every route's access contract, and the Graph flows."""

import uuid

import pytest

from directory.actors import Actor
from entitlements import services
from entitlements.models import AssignmentRequest
from tests.api.contract import EndpointContract
from tests.factories import ApplicationFactory, GroupFactory, UserFactory

B = "identityGovernance/entitlementManagement/"
READ, WRITE = "EntitlementManagement.Read.All", "EntitlementManagement.ReadWrite.All"


def em(tenant, *, approval: bool = False) -> dict:
    """A catalog with a group and an app, a package granting both, a policy, and a member."""
    actor = Actor.operator()
    catalog = services.catalog_create(actor=actor, tenant=tenant, display_name=f"Catalog {uuid.uuid4().hex[:6]}")
    group = GroupFactory(tenant=tenant)
    app = ApplicationFactory(tenant=tenant)
    group_resource = services.catalog_resource_add(actor=actor, catalog=catalog, obj=group)
    services.catalog_resource_add(actor=actor, catalog=catalog, obj=app)
    package = services.package_create(actor=actor, catalog=catalog, display_name="Package")
    services.role_scope_add(actor=actor, package=package, resource=group_resource, role="Member")
    approver = UserFactory(tenant=tenant)
    stages = [{"primary_approvers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": str(approver.pk)}]}]
    policy = services.policy_create(actor=actor, package=package, display_name="Members", allowed_target_scope=
                                    "allMemberUsers", is_approval_required_for_add=approval,
                                    stages=stages if approval else [])
    return {"catalog": catalog, "group": group, "app": app, "package": package, "policy": policy,
            "member": UserFactory(tenant=tenant), "approver": approver}


class _Contract(EndpointContract):
    """Objects a body names are made with the target (``_``-keys, not in the URL): making them in
    ``body()`` would change the tenant after the contract's snapshot."""

    def url(self, kwargs):
        return super().url({k: v for k, v in kwargs.items() if not k.startswith("_")})


class _Read(_Contract):
    permission = READ
    guest_status = 403
    member_status = 403


class _Write(_Contract):
    permission = WRITE
    other_permission = READ
    guest_status = 403
    member_status = 403


class _Catalog:
    def make_target(self, tenant):
        return {"catalog_id": em(tenant)["catalog"].pk}


class _Package:
    def make_target(self, tenant):
        return {"package_id": em(tenant)["package"].pk}


class _Policy:
    def make_target(self, tenant):
        return {"policy_id": em(tenant)["policy"].pk}


class _Org:
    def make_target(self, tenant):
        org = services.connected_organization_create(actor=Actor.operator(), tenant=tenant, display_name="Proseware",
                                                     source_type="domainIdentitySource",
                                                     domain_name=f"{uuid.uuid4().hex[:8]}.example")
        return {"org_id": org.pk}


def _pending(tenant) -> AssignmentRequest:
    data = em(tenant, approval=True)
    return services.request_access(actor=Actor.for_user(data["member"]), package=data["package"])


class TestListCatalogs(_Read):
    route = B + "catalogs"


class TestCreateCatalog(_Write):
    route = B + "catalogs"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return {"displayName": f"Catalog {uuid.uuid4().hex[:6]}", "isExternallyVisible": True}


class TestGetCatalog(_Catalog, _Read):
    route = B + "catalogs/<str:catalog_id>"


class TestPatchCatalog(_Catalog, _Write):
    route = B + "catalogs/<str:catalog_id>"
    method = "patch"
    ok_status = 204

    def body(self, tenant, target):
        return {"description": "Updated"}


class TestDeleteCatalog(_Write):
    route = B + "catalogs/<str:catalog_id>"
    method = "delete"
    ok_status = 204

    def make_target(self, tenant):
        return {"catalog_id": services.catalog_create(actor=Actor.operator(), tenant=tenant, display_name="Empty").pk}


class TestCatalogResources(_Catalog, _Read):
    route = B + "catalogs/<str:catalog_id>/resources"


class TestCatalogResourceRoles(_Catalog, _Read):
    route = B + "catalogs/<str:catalog_id>/resourceRoles"


class TestResourceRequest(_Write):
    route = B + "resourceRequests"
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        catalog = services.catalog_create(actor=Actor.operator(), tenant=tenant, display_name=uuid.uuid4().hex[:8])
        return {"_catalog": catalog.pk, "_group": GroupFactory(tenant=tenant).pk}

    def body(self, tenant, target):
        return {"requestType": "adminAdd", "catalog": {"id": str(target["_catalog"])},
                "resource": {"originId": str(target["_group"]), "originSystem": "AadGroup"}}


class TestListPackages(_Read):
    route = B + "accessPackages"


class TestCreatePackage(_Write):
    route = B + "accessPackages"
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        catalog = services.catalog_create(actor=Actor.operator(), tenant=tenant, display_name=uuid.uuid4().hex[:8])
        return {"_catalog": catalog.pk}

    def body(self, tenant, target):
        return {"displayName": "Sales", "catalog": {"id": str(target["_catalog"])}}


class TestGetPackage(_Package, _Read):
    route = B + "accessPackages/<str:package_id>"


class TestPatchPackage(_Package, _Write):
    route = B + "accessPackages/<str:package_id>"
    method = "patch"
    ok_status = 204

    def body(self, tenant, target):
        return {"isHidden": True}


class TestDeletePackage(_Package, _Write):
    route = B + "accessPackages/<str:package_id>"
    method = "delete"
    ok_status = 204


class TestListRoleScopes(_Package, _Read):
    route = B + "accessPackages/<str:package_id>/resourceRoleScopes"


class TestAddRoleScope(_Write):
    route = B + "accessPackages/<str:package_id>/resourceRoleScopes"
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        data = em(tenant)
        return {"package_id": data["package"].pk, "_group": data["group"].pk}

    def body(self, tenant, target):
        group = target["_group"]
        return {"role": {"originId": f"Owner_{group}", "originSystem": "AadGroup",
                         "resource": {"originId": str(group), "originSystem": "AadGroup"}},
                "scope": {"originId": str(group), "originSystem": "AadGroup"}}


class TestIncompatiblePackages(_Package, _Read):
    route = B + "accessPackages/<str:package_id>/incompatibleAccessPackages"


class TestAddIncompatiblePackage(_Write):
    route = B + "accessPackages/<str:package_id>/incompatibleAccessPackages/$ref"
    method = "post"
    ok_status = 204

    def make_target(self, tenant):
        data = em(tenant)
        other = services.package_create(actor=Actor.operator(), catalog=data["catalog"], display_name="Other")
        return {"package_id": data["package"].pk, "_other": other.pk}

    def body(self, tenant, target):
        return {"@odata.id": f"https://graph.microsoft.com/v1.0/{B}accessPackages/{target['_other']}"}


class TestPackagesICanRequest(EndpointContract):
    route = B + "accessPackages/filterByCurrentUser(on='allowedRequestor')"
    permission = READ


class TestListPolicies(_Read):
    route = B + "assignmentPolicies"


class TestCreatePolicy(_Write):
    route = B + "assignmentPolicies"
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        data = em(tenant)
        return {"_package": data["package"].pk, "_approver": data["approver"].pk}

    def body(self, tenant, target):
        return {"displayName": "Partners", "accessPackage": {"id": str(target["_package"])},
                "allowedTargetScope": "allExternalUsers",
                "expiration": {"type": "afterDuration", "duration": "P90D"},
                "requestorSettings": {"enableTargetsToSelfAddAccess": True},
                "requestApprovalSettings": {"isApprovalRequiredForAdd": True, "stages": [{
                    "durationBeforeAutomaticDenial": "P7D",
                    "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser",
                                          "userId": str(target["_approver"])}]}]},
                "questions": [{"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion",
                               "text": "Project?", "isRequired": True,
                               "localizations": [{"languageCode": "de", "text": "Projekt?"}]}]}


class TestGetPolicy(_Policy, _Read):
    route = B + "assignmentPolicies/<str:policy_id>"


class TestReplacePolicy(_Policy, _Write):
    route = B + "assignmentPolicies/<str:policy_id>"
    method = "put"

    def body(self, tenant, target):
        return {"displayName": "Renamed", "expiration": {"type": "noExpiration"}}


class TestDeletePolicy(_Policy, _Write):
    route = B + "assignmentPolicies/<str:policy_id>"
    method = "delete"
    ok_status = 204


class TestListRequests(_Read):
    route = B + "assignmentRequests"


class TestCreateRequest(_Write):
    route = B + "assignmentRequests"
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        data = em(tenant)
        return {"_member": data["member"].pk, "_policy": data["policy"].pk, "_package": data["package"].pk}

    def body(self, tenant, target):
        return {"requestType": "adminAdd", "assignment": {
            "targetId": str(target["_member"]), "assignmentPolicyId": str(target["_policy"]),
            "accessPackageId": str(target["_package"])}}


class TestGetRequest(_Read):
    route = B + "assignmentRequests/<str:request_id>"
    member_status = guest_status = 404  # not theirs

    def make_target(self, tenant):
        return {"request_id": _pending(tenant).pk}


class TestCancelRequest(_Write):
    route = B + "assignmentRequests/<str:request_id>/cancel"
    method = "post"
    member_status = guest_status = 404

    def make_target(self, tenant):
        return {"request_id": _pending(tenant).pk}


class TestReprocessRequest(_Write):
    route = B + "assignmentRequests/<str:request_id>/reprocess"
    method = "post"
    member_status = guest_status = 404

    def make_target(self, tenant):
        request = _pending(tenant)
        AssignmentRequest.objects.filter(pk=request.pk).update(state="deliveryFailed")
        return {"request_id": request.pk}


class TestListAssignments(_Read):
    route = B + "assignments"


class TestGetAssignment(_Read):
    route = B + "assignments/<str:assignment_id>"

    def make_target(self, tenant):
        data = em(tenant)
        request = services.request_admin_add(actor=Actor.operator(), package=data["package"], policy=data["policy"],
                                             target=data["member"])
        services.request_deliver(actor=Actor.system(None, "tests"), request_id=request.pk)
        return {"assignment_id": AssignmentRequest.objects.get(pk=request.pk).assignment_id}


class TestMyAssignments(EndpointContract):
    route = B + "assignments/filterByCurrentUser(on='target')"
    permission = READ


class TestGetApproval(_Read):
    route = B + "accessPackageAssignmentApprovals/<str:approval_id>"
    member_status = guest_status = 404

    def make_target(self, tenant):
        return {"approval_id": _pending(tenant).pk}


class _Stage:
    def make_target(self, tenant):
        request = _pending(tenant)
        return {"approval_id": request.pk, "stage_id": request.stages.get().pk}


class TestGetApprovalStage(_Stage, _Read):
    route = B + "accessPackageAssignmentApprovals/<str:approval_id>/stages/<str:stage_id>"
    member_status = guest_status = 404


class TestDecideApprovalStage(_Stage, _Write):
    route = B + "accessPackageAssignmentApprovals/<str:approval_id>/stages/<str:stage_id>"
    method = "patch"
    # Graph supports no application permission for approving: an app-only call is refused even with
    # EntitlementManagement.ReadWrite.All (an approver's delegated call is tested below).
    ok_status = 403
    member_status = guest_status = 404

    def body(self, tenant, target):
        return {"reviewResult": "Approve", "justification": "ok"}


class TestListOrganizations(_Read):
    route = B + "connectedOrganizations"


class TestCreateOrganization(_Write):
    route = B + "connectedOrganizations"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return {"displayName": "Proseware", "identitySources": [
            {"@odata.type": "#microsoft.graph.domainIdentitySource", "domainName": f"{uuid.uuid4().hex[:8]}.example",
             "displayName": "Proseware"}], "state": "configured"}


class TestGetOrganization(_Org, _Read):
    route = B + "connectedOrganizations/<str:org_id>"


class TestPatchOrganization(_Org, _Write):
    route = B + "connectedOrganizations/<str:org_id>"
    method = "patch"
    ok_status = 204

    def body(self, tenant, target):
        return {"state": "proposed"}


class TestDeleteOrganization(_Org, _Write):
    route = B + "connectedOrganizations/<str:org_id>"
    method = "delete"
    ok_status = 204


class TestInternalSponsors(_Org, _Read):
    route = B + "connectedOrganizations/<str:org_id>/internalSponsors"


class TestExternalSponsors(_Org, _Read):
    route = B + "connectedOrganizations/<str:org_id>/externalSponsors"


class TestAddInternalSponsor(_Write):
    route = B + "connectedOrganizations/<str:org_id>/internalSponsors/$ref"
    method = "post"
    ok_status = 204

    def make_target(self, tenant):
        return {**_Org().make_target(tenant), "_sponsor": UserFactory(tenant=tenant).pk}

    def body(self, tenant, target):
        return {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{target['_sponsor']}"}


class TestAddExternalSponsor(TestAddInternalSponsor):
    route = B + "connectedOrganizations/<str:org_id>/externalSponsors/$ref"


class TestGetSettings(_Read):
    route = B + "settings"


class TestPatchSettings(_Write):
    route = B + "settings"
    method = "patch"
    ok_status = 204

    def body(self, tenant, target):
        return {"externalUserLifecycleAction": "blockSignIn", "durationUntilExternalUserDeletedAfterBlocked": "P15D"}


# --- behaviour ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_builds_a_package_and_assigns_it_through_graph(api, app_token_for, api_tenant,
                                                                 django_capture_on_commit_callbacks):
    client = api(app_token_for(api_tenant, [WRITE]))
    group = GroupFactory(tenant=api_tenant)
    member = UserFactory(tenant=api_tenant)
    catalog = client.post(f"/v1.0/{B}catalogs", {"displayName": "Marketing"}, format="json").json()
    assert catalog["state"] == "published" and catalog["isExternallyVisible"] is True
    response = client.post(f"/v1.0/{B}resourceRequests", {
        "requestType": "adminAdd", "catalog": {"id": catalog["id"]},
        "resource": {"originId": str(group.pk), "originSystem": "AadGroup"}}, format="json")
    assert response.status_code == 201, response.content
    roles = client.get(f"/v1.0/{B}catalogs/{catalog['id']}/resourceRoles").json()["value"]
    assert {r["originId"] for r in roles} == {f"Member_{group.pk}", f"Owner_{group.pk}"}
    package = client.post(f"/v1.0/{B}accessPackages", {"displayName": "Campaign", "catalog": {"id": catalog["id"]}},
                          format="json").json()
    member_role = next(r for r in roles if r["originId"].startswith("Member_"))
    response = client.post(f"/v1.0/{B}accessPackages/{package['id']}/resourceRoleScopes", {
        "role": {"originId": member_role["originId"], "originSystem": "AadGroup",
                 "resource": {"id": member_role["resource"]["id"]}}}, format="json")
    assert response.status_code == 201, response.content
    policy = client.post(f"/v1.0/{B}assignmentPolicies", {
        "displayName": "Direct", "accessPackage": {"id": package["id"]}, "allowedTargetScope": "notSpecified",
        "expiration": {"type": "afterDuration", "duration": "P30D"}}, format="json").json()
    assert policy["expiration"] == {"type": "afterDuration", "endDateTime": None, "duration": "P30D"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/v1.0/{B}assignmentRequests", {"requestType": "adminAdd", "assignment": {
            "targetId": str(member.pk), "assignmentPolicyId": policy["id"], "accessPackageId": package["id"]}},
            format="json")
    assert response.status_code == 201 and response.json()["requestType"] == "adminAdd"
    assignments = client.get(f"/v1.0/{B}assignments", {"$filter": "state eq 'delivered'"}).json()["value"]
    assert [a["target"]["objectId"] for a in assignments] == [str(member.pk)]
    assert group.members.filter(pk=member.pk).exists()
    assert assignments[0]["schedule"]["expiration"]["type"] == "afterDateTime"


@pytest.mark.django_db
def test_an_approver_decides_with_a_delegated_token(api, delegated_token_for, api_tenant):
    data = em(api_tenant, approval=True)
    request = services.request_access(actor=Actor.for_user(data["member"]), package=data["package"])
    stage = request.stages.get()
    client = api(delegated_token_for(data["approver"], [WRITE]))
    approval = client.get(f"/v1.0/{B}accessPackageAssignmentApprovals/{request.pk}").json()
    assert approval["stages"][0]["assignedToMe"] is True and approval["stages"][0]["reviewResult"] == "NotReviewed"
    response = client.patch(f"/v1.0/{B}accessPackageAssignmentApprovals/{request.pk}/stages/{stage.pk}",
                            {"reviewResult": "Approve", "justification": "Fine"}, format="json")
    assert response.status_code == 204, response.content
    request.refresh_from_db()
    assert request.state in ("delivering", "delivered")


@pytest.mark.django_db
def test_a_member_requests_through_graph_and_sees_only_what_they_may(api, delegated_token_for, api_tenant):
    data = em(api_tenant)
    services.package_create(actor=Actor.operator(), catalog=data["catalog"], display_name="No policy")
    client = api(delegated_token_for(data["member"], [WRITE]))
    mine = client.get(f"/v1.0/{B}accessPackages/filterByCurrentUser(on='allowedRequestor')").json()["value"]
    assert [p["displayName"] for p in mine] == ["Package"]
    response = client.post(f"/v1.0/{B}assignmentRequests", {"requestType": "userAdd", "assignment": {
        "accessPackageId": str(data["package"].pk), "assignmentPolicyId": str(data["policy"].pk)}}, format="json")
    assert response.status_code == 201, response.content
    again = client.post(f"/v1.0/{B}assignmentRequests", {"requestType": "userAdd", "assignment": {
        "accessPackageId": str(data["package"].pk)}}, format="json")
    assert again.status_code == 403
    assert client.get(f"/v1.0/{B}assignmentRequests").status_code == 403  # the list is the administrators'


@pytest.mark.django_db
def test_durations_and_settings_round_trip(api, app_token_for, api_tenant):
    client = api(app_token_for(api_tenant, [WRITE]))
    assert client.get(f"/v1.0/{B}settings").json()["durationUntilExternalUserDeletedAfterBlocked"] == "P30D"
    client.patch(f"/v1.0/{B}settings", {"durationUntilExternalUserDeletedAfterBlocked": "PT12H"}, format="json")
    assert client.get(f"/v1.0/{B}settings").json()["durationUntilExternalUserDeletedAfterBlocked"] == "PT12H"
    response = client.patch(f"/v1.0/{B}settings", {"durationUntilExternalUserDeletedAfterBlocked": "twelve"},
                            format="json")
    assert response.status_code == 400
