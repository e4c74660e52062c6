"""The official Microsoft Graph SDK for Python (msgraph-sdk) against a live server of ours, with only
the base URL changed and our own bearer token. It talks to nothing but the test server."""

import asyncio
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_abstractions.authentication.base_bearer_token_authentication_provider import (
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.allow_invites_from import AllowInvitesFrom
from msgraph.generated.models.authorization_policy import AuthorizationPolicy
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.invited_user_message_info import InvitedUserMessageInfo
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator

from directory.actors import Actor
from directory.authz import APPLICATION_PERMISSIONS
from directory.models import User
from invitations.models import Invitation as InvitationRow
from policies.selectors import collaboration_settings_for
from tests.factories import GroupFactory, GuestFactory, TenantFactory, UserFactory

pytestmark = [
    pytest.mark.sdk,
    # the SDK announces its own deprecations on import and use; they are not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]

SAME_AS_MEMBERS = "a0b1b346-4d3e-4e8b-98f8-753987be4970"


class OurToken(AccessTokenProvider):
    """A token from our own OAuth server, sent only to the live test server's host."""

    def __init__(self, token: str, host: str):
        self.token = token
        self.hosts = AllowedHostsValidator([host])

    async def get_authorization_token(self, uri: str, additional_authentication_context=None) -> str:
        return self.token if self.hosts.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.hosts


@pytest.fixture
def graph(live_server):
    """graph(tenant, permissions) → (GraphServiceClient, request adapter) for a new app registration."""
    from directory import services

    def make(tenant, permissions=APPLICATION_PERMISSIONS):
        _app, client_id, secret = services.app_registration_create(
            actor=Actor.operator(), tenant=tenant, display_name="SDK app", application_permissions=permissions)
        token = httpx.post(f"{live_server.url}/identity/o/api/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": ".default"}).json()["access_token"]
        auth = BaseBearerTokenAuthenticationProvider(OurToken(token, urlsplit(live_server.url).hostname))
        # The SDK's own middleware (retries, redirects, telemetry) on an httpx client pointed at us; no
        # keep-alive, so that no connection outlives the test's live server.
        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(
            base_url=f"{live_server.url}/v1.0", limits=httpx.Limits(max_keepalive_connections=0)))
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = f"{live_server.url}/v1.0"
        return GraphServiceClient(request_adapter=adapter), adapter

    return make


@pytest.fixture
def tenant(transactional_db):
    return TenantFactory(name="Contoso", slug="contoso", initial_domain="contoso.example")


def test_create_an_invitation_and_read_its_redeem_url(graph, tenant, live_server):
    client, _ = graph(tenant)

    async def invite():
        return await client.invitations.post(Invitation(
            invited_user_email_address="ann@fabrikam.example", invite_redirect_url="https://myapps.contoso.example/",
            invited_user_display_name="Ann", send_invitation_message=False,
            invited_user_message_info=InvitedUserMessageInfo(message_language="de-DE")))

    invitation = asyncio.run(invite())
    row = InvitationRow.objects.get()
    assert invitation.id == str(row.pk)
    assert invitation.status == "PendingAcceptance"
    assert invitation.invited_user.id == str(row.invited_user_id)
    assert invitation.invited_user_message_info.message_language == "de-DE"
    assert invitation.invite_redeem_url.endswith("/") and "/t/contoso/invitations/" in invitation.invite_redeem_url
    landing = httpx.get(live_server.url + urlsplit(invitation.invite_redeem_url).path)
    assert landing.status_code == 200  # the link the SDK read is the guest's working link


def test_list_guests_with_filter_and_select(graph, tenant):
    GuestFactory.create_batch(3, tenant=tenant)
    UserFactory(tenant=tenant)
    client, _ = graph(tenant)
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter="userType eq 'Guest'", select=["id", "displayName", "userType", "externalUserState"])

    page = asyncio.run(client.users.get(request_configuration=RequestConfiguration(query_parameters=query)))
    assert len(page.value) == 3
    assert {u.user_type for u in page.value} == {"Guest"}
    assert {u.external_user_state for u in page.value} == {"PendingAcceptance"}
    assert all(u.user_principal_name is None for u in page.value)  # not selected


def test_follow_next_links_through_260_users(graph, tenant):
    User.objects.bulk_create(User(tenant=tenant, display_name=f"Person {i:03d}",
                                  user_principal_name=f"p{i}@contoso.example") for i in range(260))
    client, adapter = graph(tenant)
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=100, select=["id", "displayName"])

    async def walk():
        # One event loop for the whole conversation: the SDK's httpx pool belongs to the loop it began in.
        first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
        by_iterator = []
        iterator = PageIterator(first, adapter, error_mapping={"XXX": ODataError})
        await iterator.iterate(lambda user: by_iterator.append(user.id) or True)
        by_url, page, pages = [u.id for u in first.value], first, 1
        while page.odata_next_link:
            page = await client.users.with_url(page.odata_next_link).get()
            assert isinstance(page, UserCollectionResponse)
            by_url += [u.id for u in page.value]
            pages += 1
        return first, by_iterator, by_url, pages

    first, by_iterator, by_url, pages = asyncio.run(walk())
    assert first.odata_next_link and "skiptoken=" in first.odata_next_link
    assert len(by_iterator) == len(set(by_iterator)) == 260
    assert by_url == by_iterator and pages == 3


def test_add_a_group_member_with_ref(graph, tenant):
    group, user = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
    client, _ = graph(tenant)

    async def add_and_list():
        body = ReferenceCreate(odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{user.pk}")
        await client.groups.by_group_id(str(group.pk)).members.ref.post(body)
        return await client.groups.by_group_id(str(group.pk)).members.get()

    members = asyncio.run(add_and_list())
    assert [m.id for m in members.value] == [str(user.pk)]
    assert list(group.members.all()) == [user]


def test_read_and_change_the_authorization_policy(graph, tenant):
    client, _ = graph(tenant, ["Policy.Read.All", "Policy.ReadWrite.Authorization"])

    async def read_change_read():
        before = await client.policies.authorization_policy.get()
        await client.policies.authorization_policy.patch(AuthorizationPolicy(
            allow_invites_from=AllowInvitesFrom.Everyone, guest_user_role_id=uuid.UUID(SAME_AS_MEMBERS)))
        return before, await client.policies.authorization_policy.get()

    before, after = asyncio.run(read_change_read())
    assert before.id == "authorizationPolicy"
    assert before.allow_invites_from == AllowInvitesFrom.AdminsGuestInvitersAndAllMembers
    assert str(before.guest_user_role_id) == "10dae51f-b6af-4016-8d66-8c2a99b929b3"
    assert before.default_user_role_permissions.allowed_to_read_other_users is True
    assert after.allow_invites_from == AllowInvitesFrom.Everyone
    assert str(after.guest_user_role_id) == SAME_AS_MEMBERS
    settings = collaboration_settings_for(tenant)
    assert (settings.allow_invites_from, settings.guest_user_role_id) == ("everyone", SAME_AS_MEMBERS)


def test_a_missing_user_is_an_odata_error_with_request_resource_not_found(graph, tenant):
    client, _ = graph(tenant)

    async def missing():
        return await client.users.by_user_id("00000000-0000-0000-0000-000000000000").get()

    with pytest.raises(ODataError) as raised:
        asyncio.run(missing())
    assert raised.value.response_status_code == 404
    assert raised.value.error.code == "Request_ResourceNotFound"
    assert raised.value.error.message


def test_a_refused_invitation_is_an_odata_error_too(graph, tenant):
    from policies import services as policy_services

    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"allow_invites_from": "none"})
    client, _ = graph(tenant, ["User.Invite.All"])

    async def invite():
        return await client.invitations.post(Invitation(invited_user_email_address="bo@fabrikam.example",
                                                        invite_redirect_url="https://x.example/"))

    with pytest.raises(ODataError) as raised:
        asyncio.run(invite())
    assert raised.value.response_status_code == 403
    assert raised.value.error.code == "Authorization_RequestDenied"
    assert "does not allow anyone to invite" in raised.value.error.message


def test_read_sign_ins_and_a_users_sign_in_activity(graph, tenant):
    import datetime

    from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

    from directory.models import SignInEvent

    ann = UserFactory(tenant=tenant, last_sign_in_at=datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC))
    SignInEvent.objects.create(tenant=tenant, user=ann, user_principal_name=ann.user_principal_name,
                               result="failure", error_code=53003, failure_reason="Blocked.",
                               conditional_access_status="failure",
                               applied_policies=[{"id": "p1", "displayName": "Block", "result": "failure",
                                                  "enforcedGrantControls": ["block"], "enforcedSessionControls": []}])
    client, _ = graph(tenant, ["AuditLog.Read.All", "User.Read.All"])

    async def read():
        query = SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(filter=f"userId eq '{ann.pk}'")
        sign_ins = await client.audit_logs.sign_ins.get(request_configuration=RequestConfiguration(
            query_parameters=query))
        user_query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id", "signInActivity"])
        user = await client.users.by_user_id(str(ann.pk)).get(request_configuration=RequestConfiguration(
            query_parameters=user_query))
        return sign_ins, user

    sign_ins, user = asyncio.run(read())
    [event] = sign_ins.value
    assert event.user_id == str(ann.pk) and event.status.error_code == 53003
    assert event.applied_conditional_access_policies[0].display_name == "Block"
    assert user.sign_in_activity.last_sign_in_date_time == datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
