"""The official msgraph-sdk creates a named location and a conditional access policy that uses it, and reads
them back, against a live server of ours (only the base URL changed)."""

import asyncio

import pytest
from msgraph.generated.models.conditional_access_applications import ConditionalAccessApplications
from msgraph.generated.models.conditional_access_client_app import ConditionalAccessClientApp
from msgraph.generated.models.conditional_access_condition_set import ConditionalAccessConditionSet
from msgraph.generated.models.conditional_access_grant_control import ConditionalAccessGrantControl
from msgraph.generated.models.conditional_access_grant_controls import ConditionalAccessGrantControls
from msgraph.generated.models.conditional_access_locations import ConditionalAccessLocations
from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
from msgraph.generated.models.conditional_access_policy_state import ConditionalAccessPolicyState
from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
from msgraph.generated.models.country_named_location import CountryNamedLocation
from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange
from msgraph.generated.models.ip_named_location import IpNamedLocation

from policies.models import ConditionalAccessPolicy as PolicyRow
from tests.api.test_msgraph_sdk import graph  # noqa: F401  (the fixture)
from tests.factories import TenantFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


@pytest.mark.django_db(transaction=True)
def test_the_sdk_creates_a_named_location_and_a_policy_and_reads_them(graph):  # noqa: F811
    tenant = TenantFactory()
    client, _adapter = graph(tenant, ["Policy.ReadWrite.ConditionalAccess"])
    conditional_access = client.identity.conditional_access

    async def run():
        office = await conditional_access.named_locations.post(IpNamedLocation(
            odata_type="#microsoft.graph.ipNamedLocation", display_name="Office", is_trusted=True,
            ip_ranges=[IPv4CidrRange(odata_type="#microsoft.graph.iPv4CidrRange", cidr_address="203.0.113.0/24")]))
        embargo = await conditional_access.named_locations.post(CountryNamedLocation(
            odata_type="#microsoft.graph.countryNamedLocation", display_name="Embargo",
            countries_and_regions=["KP"], include_unknown_countries_and_regions=False))
        policy = await conditional_access.policies.post(ConditionalAccessPolicy(
            display_name="Guests: MFA outside the office",
            state=ConditionalAccessPolicyState.EnabledForReportingButNotEnforced,
            conditions=ConditionalAccessConditionSet(
                users=ConditionalAccessUsers(include_users=["GuestsOrExternalUsers"]),
                applications=ConditionalAccessApplications(include_applications=["All"]),
                locations=ConditionalAccessLocations(include_locations=["All"], exclude_locations=[office.id]),
                client_app_types=[ConditionalAccessClientApp.Browser]),
            grant_controls=ConditionalAccessGrantControls(operator="OR",
                                                          built_in_controls=[ConditionalAccessGrantControl.Mfa])))
        listed = await conditional_access.named_locations.get()
        read = await conditional_access.policies.by_conditional_access_policy_id(policy.id).get()
        return office, embargo, policy, listed, read

    office, embargo, policy, listed, read = asyncio.run(run())
    assert isinstance(office, IpNamedLocation) and office.ip_ranges[0].cidr_address == "203.0.113.0/24"
    assert isinstance(embargo, CountryNamedLocation) and embargo.countries_and_regions == ["KP"]
    assert {type(x) for x in listed.value} == {IpNamedLocation, CountryNamedLocation}
    assert read.state == ConditionalAccessPolicyState.EnabledForReportingButNotEnforced
    assert read.conditions.locations.exclude_locations == [office.id]
    assert read.grant_controls.built_in_controls == [ConditionalAccessGrantControl.Mfa]
    assert PolicyRow.objects.filter(tenant=tenant, pk=policy.id).exists()
