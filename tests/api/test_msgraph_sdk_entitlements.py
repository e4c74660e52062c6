"""msgraph-sdk against a live server: a catalog, a package, a policy and an ``adminAdd`` request made
through the official SDK, and the assignment read back."""

import asyncio
from datetime import timedelta

import pytest
from msgraph.generated.models.access_package import AccessPackage
from msgraph.generated.models.access_package_assignment import AccessPackageAssignment
from msgraph.generated.models.access_package_assignment_policy import AccessPackageAssignmentPolicy
from msgraph.generated.models.access_package_assignment_request import AccessPackageAssignmentRequest
from msgraph.generated.models.access_package_catalog import AccessPackageCatalog
from msgraph.generated.models.access_package_request_type import AccessPackageRequestType
from msgraph.generated.models.access_package_resource import AccessPackageResource
from msgraph.generated.models.access_package_resource_request import AccessPackageResourceRequest
from msgraph.generated.models.access_package_resource_role import AccessPackageResourceRole
from msgraph.generated.models.access_package_resource_role_scope import AccessPackageResourceRoleScope
from msgraph.generated.models.access_package_subject import AccessPackageSubject
from msgraph.generated.models.allowed_target_scope import AllowedTargetScope
from msgraph.generated.models.expiration_pattern import ExpirationPattern
from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType

from tests.api.test_msgraph_sdk import graph, tenant  # noqa: F401  (the live-server SDK fixtures)
from tests.factories import GroupFactory, UserFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


def test_the_sdk_builds_a_package_assigns_it_and_reads_the_assignment(graph, tenant):  # noqa: F811
    client, _ = graph(tenant, ["EntitlementManagement.ReadWrite.All"])
    em = client.identity_governance.entitlement_management
    group = GroupFactory(tenant=tenant, display_name="Campaign team")
    ann = UserFactory(tenant=tenant)

    async def run():
        catalog = await em.catalogs.post(AccessPackageCatalog(display_name="Marketing", description="Partners"))
        await em.resource_requests.post(AccessPackageResourceRequest(
            request_type=AccessPackageRequestType.AdminAdd, catalog=AccessPackageCatalog(id=catalog.id),
            resource=AccessPackageResource(origin_id=str(group.pk), origin_system="AadGroup")))
        resources = await em.catalogs.by_access_package_catalog_id(catalog.id).resources.get()
        package = await em.access_packages.post(AccessPackage(
            display_name="Campaign collaboration", catalog=AccessPackageCatalog(id=catalog.id)))
        await em.access_packages.by_access_package_id(package.id).resource_role_scopes.post(
            AccessPackageResourceRoleScope(role=AccessPackageResourceRole(
                origin_id=f"Member_{group.pk}", origin_system="AadGroup",
                resource=AccessPackageResource(id=resources.value[0].id))))
        policy = await em.assignment_policies.post(AccessPackageAssignmentPolicy(
            display_name="Direct assignment", access_package=AccessPackage(id=package.id),
            allowed_target_scope=AllowedTargetScope.NotSpecified,
            expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration=timedelta(days=30))))
        request = await em.assignment_requests.post(AccessPackageAssignmentRequest(
            request_type=AccessPackageRequestType.AdminAdd, assignment=AccessPackageAssignment(
                target=AccessPackageSubject(object_id=str(ann.pk)),
                assignment_policy=AccessPackageAssignmentPolicy(id=policy.id), access_package=AccessPackage(id=package.id))))
        assignments = await em.assignments.get()
        return catalog, package, policy, request, assignments

    catalog, package, policy, request, assignments = asyncio.run(run())
    assert catalog.state.value == "published" and package.display_name == "Campaign collaboration"
    assert policy.expiration.duration == timedelta(days=30)
    assert request.request_type == AccessPackageRequestType.AdminAdd
    # without a broker the delivery task ran in the server when the request committed
    [assignment] = assignments.value
    assert assignment.state.value == "delivered" and assignment.target.object_id == str(ann.pk)
    assert group.members.filter(pk=ann.pk).exists()
