"""Provisioning the way scripts do it, with the official msgraph-sdk against a live server: users with
profile properties, users by UPN, invitations with sponsors, and the error shape of a race's loser."""

import asyncio

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.directory_object import DirectoryObject
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User as GraphUser
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from directory.models import User
from tests.api import test_msgraph_sdk as sdk
from tests.factories import UserFactory

pytestmark = sdk.pytestmark

# The live server, the SDK client and the tenant, as the SDK suite sets them up.
graph = sdk.graph
tenant = sdk.tenant


def _new_user(upn: str, **profile) -> GraphUser:
    return GraphUser(account_enabled=True, display_name="Dee Provisioned", mail_nickname=upn.split("@")[0],
                     user_principal_name=upn, password_profile=PasswordProfile(password="A-long-passphrase-sdk-1"),
                     **profile)


def test_create_a_user_with_profile_properties_and_read_them_back(graph, tenant):
    client, _ = graph(tenant, ["User.ReadWrite.All"])
    names = ["id", "department", "employeeId", "employeeType", "usageLocation", "officeLocation", "city", "country",
             "mobilePhone", "businessPhones", "preferredLanguage"]

    async def create_and_read():
        created = await client.users.post(_new_user(
            "dee@contoso.example", department="Sales", employee_id="E-1001", employee_type="Contractor",
            usage_location="DE", office_location="Building 4", city="Berlin", country="Germany",
            mobile_phone="+49 170 1234567", business_phones=["+49 30 1234567"], preferred_language="de-DE"))
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=names)
        by_upn = await client.users.by_user_id("dee@contoso.example").get(
            request_configuration=RequestConfiguration(query_parameters=query))
        listed = await client.users.get(request_configuration=RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                filter="department eq 'Sales' and employeeId eq 'E-1001'", select=["id", "department"])))
        return created, by_upn, listed

    created, by_upn, listed = asyncio.run(create_and_read())
    assert created.id == by_upn.id == str(User.objects.get(user_principal_name="dee@contoso.example").pk)
    assert (by_upn.department, by_upn.employee_id, by_upn.employee_type) == ("Sales", "E-1001", "Contractor")
    assert (by_upn.usage_location, by_upn.office_location, by_upn.city, by_upn.country) == (
        "DE", "Building 4", "Berlin", "Germany")
    assert by_upn.business_phones == ["+49 30 1234567"] and by_upn.mobile_phone == "+49 170 1234567"
    assert by_upn.preferred_language == "de-DE"
    assert [u.id for u in listed.value] == [created.id]


def test_change_a_users_profile_by_upn(graph, tenant):
    user = UserFactory(tenant=tenant, user_principal_name="lee@contoso.example", department="Sales")
    client, _ = graph(tenant, ["User.ReadWrite.All"])

    asyncio.run(client.users.by_user_id("lee@contoso.example").patch(GraphUser(department="Support",
                                                                               usage_location="US")))
    user.refresh_from_db()
    assert (user.department, user.usage_location) == ("Support", "US")


def test_a_bad_usage_location_is_an_odata_error_naming_the_property(graph, tenant):
    client, _ = graph(tenant, ["User.ReadWrite.All"])
    with pytest.raises(ODataError) as raised:
        asyncio.run(client.users.post(_new_user("bad@contoso.example", usage_location="XX")))
    assert raised.value.response_status_code == 400
    assert raised.value.error.code == "Request_BadRequest" and "usageLocation" in raised.value.error.message
    assert raised.value.error.inner_error is not None


def test_a_duplicate_upn_is_an_odata_error_the_sdk_can_read(graph, tenant):
    """The loser of a concurrent create gets the same answer as a sequential duplicate: a 400 the SDK
    parses (the race itself is tests/api/test_user_provisioning.py, on PostgreSQL)."""
    client, _ = graph(tenant, ["User.ReadWrite.All"])

    async def twice():
        await client.users.post(_new_user("twice@contoso.example"))
        await client.users.post(_new_user("twice@contoso.example"))

    with pytest.raises(ODataError) as raised:
        asyncio.run(twice())
    assert raised.value.response_status_code == 400
    assert raised.value.error.message == "A user with this user principal name already exists in this tenant."


def test_invite_a_guest_with_sponsors(graph, tenant):
    ann, bob = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    client, _ = graph(tenant, ["User.Invite.All"])

    invitation = asyncio.run(client.invitations.post(Invitation(
        invited_user_email_address="gus@fabrikam.example", invite_redirect_url="https://myapps.contoso.example/",
        invited_user_sponsors=[DirectoryObject(id=str(ann.pk)), DirectoryObject(id=str(bob.pk))])))
    assert {s.id for s in invitation.invited_user_sponsors} == {str(ann.pk), str(bob.pk)}
    assert set(User.objects.get(pk=invitation.invited_user.id).sponsors.all()) == {ann, bob}


def test_an_app_invites_an_external_member(graph, tenant):
    client, _ = graph(tenant, ["User.Invite.All"])
    invitation = asyncio.run(client.invitations.post(Invitation(
        invited_user_email_address="mia@fabrikam.example", invite_redirect_url="https://myapps.contoso.example/",
        invited_user_type="Member")))
    assert invitation.invited_user_type == "Member"
    assert User.objects.get(pk=invitation.invited_user.id).user_type == "Member"
