"""The official msgraph-sdk reads and patches the cross-tenant access default and a partner, against a live
server of ours (only the base URL changed)."""

import asyncio

import pytest
from msgraph.generated.models.cross_tenant_access_policy_b2_b_setting import CrossTenantAccessPolicyB2BSetting
from msgraph.generated.models.cross_tenant_access_policy_configuration_default import (
    CrossTenantAccessPolicyConfigurationDefault,
)
from msgraph.generated.models.cross_tenant_access_policy_configuration_partner import (
    CrossTenantAccessPolicyConfigurationPartner,
)
from msgraph.generated.models.cross_tenant_access_policy_inbound_trust import CrossTenantAccessPolicyInboundTrust
from msgraph.generated.models.cross_tenant_access_policy_target import CrossTenantAccessPolicyTarget
from msgraph.generated.models.cross_tenant_access_policy_target_configuration import (
    CrossTenantAccessPolicyTargetConfiguration,
)
from msgraph.generated.models.cross_tenant_access_policy_target_configuration_access_type import (
    CrossTenantAccessPolicyTargetConfigurationAccessType,
)
from msgraph.generated.models.cross_tenant_access_policy_target_type import CrossTenantAccessPolicyTargetType

from policies.models import CrossTenantAccessDefault, CrossTenantAccessPartner
from tests.api.test_msgraph_sdk import graph  # noqa: F401  (the fixture)
from tests.factories import TenantFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]
BLOCKED = CrossTenantAccessPolicyTargetConfigurationAccessType.Blocked


def _block_all() -> CrossTenantAccessPolicyB2BSetting:
    return CrossTenantAccessPolicyB2BSetting(
        users_and_groups=CrossTenantAccessPolicyTargetConfiguration(access_type=BLOCKED, targets=[
            CrossTenantAccessPolicyTarget(target="AllUsers", target_type=CrossTenantAccessPolicyTargetType.User)]),
        applications=CrossTenantAccessPolicyTargetConfiguration(access_type=BLOCKED, targets=[
            CrossTenantAccessPolicyTarget(target="AllApplications",
                                          target_type=CrossTenantAccessPolicyTargetType.Application)]))


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reads_and_patches_the_default_and_a_partner(graph):  # noqa: F811
    tenant, other = TenantFactory(), TenantFactory()
    client, _adapter = graph(tenant, ["Policy.ReadWrite.CrossTenantAccess"])
    policy = client.policies.cross_tenant_access_policy

    async def run():
        before = await policy.default.get()
        await policy.default.patch(CrossTenantAccessPolicyConfigurationDefault(
            inbound_trust=CrossTenantAccessPolicyInboundTrust(is_mfa_accepted=True)))
        after = await policy.default.get()
        created = await policy.partners.post(CrossTenantAccessPolicyConfigurationPartner(
            tenant_id=str(other.pk), b2b_collaboration_inbound=_block_all()))
        await policy.partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(str(other.pk)).patch(
            CrossTenantAccessPolicyConfigurationPartner(
                inbound_trust=CrossTenantAccessPolicyInboundTrust(is_mfa_accepted=True,
                                                                  is_compliant_device_accepted=False)))
        read = await policy.partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(str(other.pk)).get()
        listed = await policy.partners.get()
        return before, after, created, read, listed

    before, after, created, read, listed = asyncio.run(run())
    assert before.is_service_default is True and before.inbound_trust.is_mfa_accepted is False
    assert before.b2b_collaboration_inbound.users_and_groups.targets[0].target == "AllUsers"
    assert after.is_service_default is False and after.inbound_trust.is_mfa_accepted is True
    assert created.tenant_id == str(other.pk)
    assert read.b2b_collaboration_inbound.applications.access_type == BLOCKED
    assert read.inbound_trust.is_mfa_accepted is True
    assert [p.tenant_id for p in listed.value] == [str(other.pk)]
    assert CrossTenantAccessDefault.objects.get(tenant=tenant).inbound_trust["isMfaAccepted"]
    assert CrossTenantAccessPartner.objects.get(tenant=tenant).inbound_trust["isMfaAccepted"]
