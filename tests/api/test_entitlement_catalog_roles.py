"""Catalog role holders without a tenant role act through a delegated token with
EntitlementManagement.ReadWrite.All, as Entra allows: what each role may do in its catalog (the scope ∩
the role), and nothing in another catalog (404) or tenant-wide (403)."""

import pytest

from directory import authz
from directory.actors import Actor
from entitlements import services
from entitlements.models import AccessPackage, AssignmentPolicy
from tests.api.test_entitlement_management import READ, WRITE, B, em
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OWNER, READER = authz.CATALOG_OWNER, authz.CATALOG_READER
PACKAGES, ASSIGNMENTS = authz.ACCESS_PACKAGE_MANAGER, authz.ACCESS_PACKAGE_ASSIGNMENT_MANAGER
ROLES = {"owner": OWNER, "reader": READER, "package manager": PACKAGES, "assignment manager": ASSIGNMENTS}


def _holder(tenant, role, delegated_token_for, api, scope=WRITE):
    data = em(tenant)
    person = UserFactory(tenant=tenant)
    services.catalog_role_add(actor=Actor.operator(), catalog=data["catalog"], user=person, role=role)
    return data, api(delegated_token_for(person, [scope]))


def _read_catalog(client, data):
    return client.get(f"/v1.0/{B}catalogs/{data['catalog'].pk}")


def _list_assignments(client, data):
    return client.get(f"/v1.0/{B}assignments")


def _rename_catalog(client, data):
    return client.patch(f"/v1.0/{B}catalogs/{data['catalog'].pk}", {"description": "Renamed"}, format="json")


def _create_package(client, data):
    return client.post(f"/v1.0/{B}accessPackages", {"displayName": "New", "catalog": {"id": str(data["catalog"].pk)}},
                       format="json")


def _create_policy(client, data):
    return client.post(f"/v1.0/{B}assignmentPolicies", {
        "displayName": "Direct", "accessPackage": {"id": str(data["package"].pk)}, "allowedTargetScope": "notSpecified",
        "expiration": {"type": "afterDuration", "duration": "P30D"}}, format="json")


def _assign(client, data):
    return client.post(f"/v1.0/{B}assignmentRequests", {"requestType": "adminAdd", "assignment": {
        "targetId": str(data["member"].pk), "assignmentPolicyId": str(data["policy"].pk),
        "accessPackageId": str(data["package"].pk)}}, format="json")


ACTIONS = {"read the catalog": (_read_catalog, 200), "list assignments": (_list_assignments, 200),
           "change the catalog": (_rename_catalog, 204), "create a package": (_create_package, 201),
           "create a policy": (_create_policy, 201), "assign directly": (_assign, 201)}
#: Entra's catalog roles (entitlement-management-delegate): who may do what in their catalog.
ALLOWED = {
    "owner": set(ACTIONS),
    "reader": {"read the catalog", "list assignments"},
    "package manager": {"read the catalog", "list assignments", "create a package", "create a policy",
                        "assign directly"},
    "assignment manager": {"read the catalog", "list assignments", "assign directly"},
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", list(ROLES))
def test_each_catalog_role_does_what_entra_allows_in_its_catalog(role, action, api, delegated_token_for, api_tenant):
    data, client = _holder(api_tenant, ROLES[role], delegated_token_for, api)
    call, success = ACTIONS[action]
    response = call(client, data)
    if action in ALLOWED[role]:
        assert response.status_code == success, response.content
    else:
        assert response.status_code == 403, response.content
        assert AccessPackage.objects.filter(display_name="New").count() == 0
        assert AssignmentPolicy.objects.filter(display_name="Direct").count() == 0


@pytest.mark.parametrize("role", list(ROLES))
def test_another_catalog_is_not_found_and_not_listed(role, api, delegated_token_for, api_tenant):
    data, client = _holder(api_tenant, ROLES[role], delegated_token_for, api)
    other = em(api_tenant)
    assert client.get(f"/v1.0/{B}catalogs/{other['catalog'].pk}").status_code == 404
    assert client.get(f"/v1.0/{B}accessPackages/{other['package'].pk}").status_code == 404
    assert client.patch(f"/v1.0/{B}catalogs/{other['catalog'].pk}", {"description": "x"},
                        format="json").status_code in (403, 404)
    listed = client.get(f"/v1.0/{B}catalogs").json()["value"]
    assert [c["id"] for c in listed] == [str(data["catalog"].pk)]
    packages = client.get(f"/v1.0/{B}accessPackages").json()["value"]
    assert [p["id"] for p in packages] == [str(data["package"].pk)]
    response = _assign(client, other)
    assert response.status_code in (403, 404) and not other["member"].package_assignments.exists()


def test_a_catalog_owner_does_not_reach_the_tenants_settings_or_organizations(api, delegated_token_for,
                                                                              api_tenant):
    _data, client = _holder(api_tenant, OWNER, delegated_token_for, api)
    assert client.get(f"/v1.0/{B}connectedOrganizations").status_code == 403
    assert client.get(f"/v1.0/{B}settings").status_code == 403
    assert client.post(f"/v1.0/{B}catalogs", {"displayName": "Mine"}, format="json").status_code == 403


def test_a_read_scope_token_of_a_catalog_owner_only_reads(api, delegated_token_for, api_tenant):
    data, client = _holder(api_tenant, OWNER, delegated_token_for, api, scope=READ)
    assert _read_catalog(client, data).status_code == 200
    assert _create_package(client, data).status_code == 403
    assert not AccessPackage.objects.filter(display_name="New").exists()


def test_a_member_without_a_catalog_role_is_refused(api, delegated_token_for, api_tenant):
    data = em(api_tenant)
    client = api(delegated_token_for(UserFactory(tenant=api_tenant), [WRITE]))
    assert _read_catalog(client, data).status_code == 403
    assert client.get(f"/v1.0/{B}catalogs").status_code == 403
