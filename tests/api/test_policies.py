"""/v1.0/policies/authorizationPolicy and /beta/policies/b2bManagementPolicies over the external
collaboration settings."""

import json

import pytest

from directory.models import AuditEvent
from policies.api.resources import b2b_policy_id
from policies.models import CollaborationSettings
from policies.selectors import collaboration_settings_for
from tests.api.contract import EndpointContract
from tests.factories import TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

LIMITED = "10dae51f-b6af-4016-8d66-8c2a99b929b3"
SAME_AS_MEMBERS = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b"
AUTHZ = "/v1.0/policies/authorizationPolicy"
B2B = "/beta/policies/b2bManagementPolicies"


class TestGetAuthorizationPolicy(EndpointContract):
    route = "policies/authorizationPolicy"
    permission = "Policy.Read.All"
    guest_status = 403


class TestPatchAuthorizationPolicy(EndpointContract):
    route = "policies/authorizationPolicy"
    method = "patch"
    permission = "Policy.ReadWrite.Authorization"
    other_permission = "Policy.Read.All"
    ok_status = 204
    guest_status = 403

    def body(self, tenant, target):
        return {"allowInvitesFrom": "everyone"}


class TestListB2BManagementPolicies(EndpointContract):
    route = "policies/b2bManagementPolicies"
    version = "beta"
    permission = "Policy.Read.All"
    guest_status = 403


class TestGetB2BManagementPolicy(EndpointContract):
    route = "policies/b2bManagementPolicies/<str:policy_id>"
    version = "beta"
    permission = "Policy.Read.All"
    guest_status = 403

    def make_target(self, tenant):
        return {"policy_id": b2b_policy_id(tenant.pk)}


class TestPatchB2BManagementPolicy(TestGetB2BManagementPolicy):
    method = "patch"
    permission = "Policy.ReadWrite.Authorization"
    other_permission = "Policy.Read.All"
    ok_status = 204

    def body(self, tenant, target):
        return {"definition": [definition(blocked=["live.example"])]}


def definition(*, allowed=None, blocked=None) -> str:
    domains = {}
    if allowed is not None:
        domains["AllowedDomains"] = allowed
    if blocked is not None:
        domains["BlockedDomains"] = blocked
    return json.dumps({"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": domains}})


@pytest.fixture
def reader(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Policy.Read.All"]))


@pytest.fixture
def writer(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Policy.ReadWrite.Authorization"]))


# --- authorizationPolicy --------------------------------------------------------------------------


def test_authorization_policy_has_graphs_shape_and_defaults(reader):
    body = reader.get(AUTHZ).json()
    assert body["@odata.context"] == "http://testserver/v1.0/$metadata#policies/authorizationPolicy/$entity"
    assert body["id"] == "authorizationPolicy"
    assert body["allowInvitesFrom"] == "adminsGuestInvitersAndAllMembers"
    assert body["guestUserRoleId"] == LIMITED
    assert body["allowEmailVerifiedUsersToJoinOrganization"] is False
    assert body["blockMsolPowerShell"] is True and body["allowedToUseSSPR"] is True
    assert body["allowedToSignUpEmailBasedSubscriptions"] is False
    assert body["defaultUserRolePermissions"]["allowedToReadOtherUsers"] is True
    assert body["displayName"] == "Authorization Policy"
    assert reader.get(AUTHZ, {"$select": "allowInvitesFrom"}).json() == {
        "@odata.context": body["@odata.context"], "id": "authorizationPolicy",
        "allowInvitesFrom": "adminsGuestInvitersAndAllMembers"}


def test_patch_changes_the_stored_settings_and_audits(api_tenant, writer, reader):
    response = writer.patch(AUTHZ, {"allowInvitesFrom": "adminsAndGuestInviters", "guestUserRoleId": RESTRICTED.upper(),
                                    "allowEmailVerifiedUsersToJoinOrganization": True,
                                    "@odata.type": "#microsoft.graph.authorizationPolicy"}, format="json")
    assert response.status_code == 204, response.content
    assert response.content == b""
    settings = collaboration_settings_for(api_tenant)
    assert settings.allow_invites_from == "adminsAndGuestInviters"
    assert settings.guest_user_role_id == RESTRICTED
    assert settings.self_service_sign_up_enabled is True
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Update external collaboration settings")
    changed = {p["displayName"] for p in event.target_resources[0]["modifiedProperties"]}
    assert changed == {"allow_invites_from", "guest_user_role_id", "self_service_sign_up_enabled"}
    body = reader.get(AUTHZ).json()
    assert (body["allowInvitesFrom"], body["guestUserRoleId"]) == ("adminsAndGuestInviters", RESTRICTED)


def test_get_then_patch_round_trip_is_accepted(writer, reader, api_tenant):
    policy = reader.get(AUTHZ).json()
    policy["allowInvitesFrom"] = "everyone"
    response = writer.patch(AUTHZ, policy, format="json")
    assert response.status_code == 204, response.content
    assert collaboration_settings_for(api_tenant).allow_invites_from == "everyone"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "no property"),
        ({"allowInvitesFrom": "unknownFutureValue"}, "placeholder"),
        ({"allowInvitesFrom": "someone"}, "allowInvitesFrom"),
        ({"allowInvitesFrom": 1}, "allowInvitesFrom"),
        ({"guestUserRoleId": "00000000-0000-0000-0000-000000000000"}, "guestUserRoleId"),
        ({"guestUserRoleId": None}, "guestUserRoleId"),
        ({"allowEmailVerifiedUsersToJoinOrganization": "true"}, "true or false"),
        ({"blockMsolPowerShell": False}, "cannot be changed"),
        ({"allowedToUseSSPR": 1}, "cannot be changed"),
        ({"defaultUserRolePermissions": {"allowedToCreateApps": True}}, "cannot be changed"),
        ({"defaultUserRolePermissions": {"allowedToHack": False}}, "cannot be changed"),
        ({"id": "somethingElse"}, "cannot be changed"),
        ({"allowInvitesFromX": "none"}, "does not exist"),
    ],
)
def test_bad_patches_are_400_and_change_nothing(api_tenant, writer, body, needle):
    response = writer.patch(AUTHZ, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "Request_BadRequest"
    assert needle.lower() in response.json()["error"]["message"].lower()
    assert not CollaborationSettings.objects.filter(tenant=api_tenant).exclude(
        allow_invites_from="adminsGuestInvitersAndAllMembers").exists()


def test_fixed_properties_restating_their_value_are_accepted(writer):
    response = writer.patch(AUTHZ, {"blockMsolPowerShell": True, "defaultUserRolePermissions": {
        "allowedToCreateApps": False}}, format="json")
    assert response.status_code == 204


def test_malformed_json_is_400(writer):
    response = writer.generic("PATCH", AUTHZ, b'{"allowInvitesFrom": ', content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_BadRequest"


def test_policy_none_stops_app_invitations(api_tenant, writer, api, app_token_for):
    assert writer.patch(AUTHZ, {"allowInvitesFrom": "none"}, format="json").status_code == 204
    inviter = api(app_token_for(api_tenant, ["User.Invite.All"]))
    response = inviter.post("/v1.0/invitations", {"invitedUserEmailAddress": "a@fabrikam.example",
                                                  "inviteRedirectUrl": "https://x.example/"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_guest_access_level_set_through_the_api_changes_what_guests_read(api_tenant, writer, api, delegated_token_for):
    from tests.factories import AccountFactory, GuestFactory

    guest = GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted")
    UserFactory(tenant=api_tenant)
    client = api(delegated_token_for(guest, ["User.Read.All"]))
    assert len(client.get("/v1.0/users").json()["value"]) == 1
    assert writer.patch(AUTHZ, {"guestUserRoleId": SAME_AS_MEMBERS}, format="json").status_code == 204
    assert len(client.get("/v1.0/users").json()["value"]) == 2


def test_delegated_policy_writes_need_an_admin_role(api_tenant, api, delegated_token_for):
    member = api(delegated_token_for(UserFactory(tenant=api_tenant), ["Policy.Read.All",
                                                                      "Policy.ReadWrite.Authorization"]))
    assert member.get(AUTHZ).status_code == 200  # members read the directory's settings
    assert member.patch(AUTHZ, {"allowInvitesFrom": "none"}, format="json").status_code == 403
    admin = api(delegated_token_for(admin_of(api_tenant), ["Policy.ReadWrite.Authorization"]))
    assert admin.patch(AUTHZ, {"allowInvitesFrom": "none"}, format="json").status_code == 204
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Update external collaboration settings")
    assert event.initiated_by["user"]["userPrincipalName"].endswith(api_tenant.initial_domain)


def test_each_tenant_sees_and_changes_only_its_own_policy(api_tenant, writer, api, app_token_for):
    other = TenantFactory()
    assert writer.patch(AUTHZ, {"allowInvitesFrom": "none"}, format="json").status_code == 204
    assert collaboration_settings_for(other).allow_invites_from == "adminsGuestInvitersAndAllMembers"
    other_reader = api(app_token_for(other, ["Policy.Read.All"]))
    assert other_reader.get(AUTHZ).json()["allowInvitesFrom"] == "adminsGuestInvitersAndAllMembers"


# --- beta b2bManagementPolicies -----------------------------------------------------------------------


def test_b2b_management_policy_lists_one_policy_in_betas_shape(api_tenant, reader):
    body = reader.get(B2B).json()
    assert body["@odata.context"] == "http://testserver/beta/$metadata#policies/b2bManagementPolicies"
    [policy] = body["value"]
    assert policy["id"] == str(b2b_policy_id(api_tenant.pk))
    assert policy["displayName"] == "B2BManagementPolicy" and policy["isOrganizationDefault"] is True
    assert json.loads(policy["definition"][0]) == {
        "B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": {}}}
    item = reader.get(f"{B2B}/{policy['id']}").json()
    assert item["@odata.context"].endswith("/beta/$metadata#policies/b2bManagementPolicies/$entity")
    assert item["definition"] == policy["definition"]
    assert reader.get("/v1.0/policies/b2bManagementPolicies").status_code == 400  # beta only, like Graph


def test_b2b_policy_sets_an_allow_list_then_a_block_list(api_tenant, writer, reader, api, app_token_for):
    url = f"{B2B}/{b2b_policy_id(api_tenant.pk)}"
    response = writer.patch(url, {"definition": [definition(allowed=["Fabrikam.example", "*.contoso.example"])]},
                            format="json")
    assert response.status_code == 204, response.content
    settings = collaboration_settings_for(api_tenant)
    assert (settings.domain_list_type, settings.domains) == ("allow", ["*.contoso.example", "fabrikam.example"])
    shown = json.loads(reader.get(url).json()["definition"][0])
    assert shown["B2BManagementPolicy"]["InvitationsAllowedAndBlockedDomainsPolicy"] == {
        "AllowedDomains": ["*.contoso.example", "fabrikam.example"]}
    inviter = api(app_token_for(api_tenant, ["User.Invite.All"]))
    invite = {"inviteRedirectUrl": "https://x.example/"}
    assert inviter.post("/v1.0/invitations", {**invite, "invitedUserEmailAddress": "a@hr.contoso.example"},
                        format="json").status_code == 201
    assert inviter.post("/v1.0/invitations", {**invite, "invitedUserEmailAddress": "a@live.example"},
                        format="json").status_code == 400
    # Entra's legacy form with an empty other list is fine; switching discards the allow list.
    assert writer.patch(url, {"definition": [definition(allowed=[], blocked=["live.example"])]},
                        format="json").status_code == 204
    settings = collaboration_settings_for(api_tenant)
    assert (settings.domain_list_type, settings.domains) == ("block", ["live.example"])
    assert writer.patch(url, {"definition": [definition()]}, format="json").status_code == 204
    assert collaboration_settings_for(api_tenant).domain_list_type == "none"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"definition": [definition(allowed=["a.example"], blocked=["b.example"])]}, "never both"),
        ({"definition": [definition(blocked=["not a domain"])]}, "domain"),
        ({"definition": [definition(blocked=[7])]}, "BlockedDomains"),
        ({"definition": [definition(blocked=[f"d{i:05d}.example" for i in range(2000)])]}, "25 KB"),
        ({"definition": ["{not json"]}, "not valid JSON"),
        ({"definition": ["[" * 5000 + "]" * 5000]}, "not valid JSON"),
        ({"definition": ['{"B2BManagementPolicy": {"PreviewPolicy": {}}}']}, "PreviewPolicy"),
        ({"definition": ['{"Other": {}}']}, "B2BManagementPolicy"),
        ({"definition": [json.dumps({"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": {
            "AllowedDomains": ["a.example"], "Extra": 1}}})]}, "Extra"),
        ({"definition": [definition(blocked=["a.example"]), definition(blocked=["b.example"])]}, "one JSON string"),
        ({"definition": "x"}, "one JSON string"),
        ({"isOrganizationDefault": False}, "cannot be changed"),
        ({"displayName": "Mine"}, "cannot be changed"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "cannot be changed"),
        ({"definitions": []}, "does not exist"),
        ({}, "no property"),
    ],
)
def test_bad_b2b_patches_are_400(api_tenant, writer, body, needle):
    response = writer.patch(f"{B2B}/{b2b_policy_id(api_tenant.pk)}", body, format="json")
    assert response.status_code == 400, response.content
    assert needle.lower() in response.json()["error"]["message"].lower()
    assert collaboration_settings_for(api_tenant).domain_list_type == "none"


def test_b2b_policy_ids_are_per_tenant(api_tenant, reader, writer):
    other = TenantFactory()
    assert reader.get(f"{B2B}/{b2b_policy_id(other.pk)}").status_code == 404
    assert writer.patch(f"{B2B}/{b2b_policy_id(other.pk)}", {"definition": [definition(blocked=["x.example"])]},
                        format="json").status_code == 404
    assert reader.get(f"{B2B}/not-a-guid").status_code == 404
    assert collaboration_settings_for(other).domain_list_type == "none"


def test_members_may_create_security_groups_is_the_tenants_setting_in_default_user_role_permissions(
        api_tenant, writer, reader):
    assert reader.get(AUTHZ).json()["defaultUserRolePermissions"]["allowedToCreateSecurityGroups"] is False
    response = writer.patch(AUTHZ, {"defaultUserRolePermissions": {"allowedToCreateSecurityGroups": True,
                                                                   "allowedToCreateApps": False}}, format="json")
    assert response.status_code == 204, response.content
    api_tenant.refresh_from_db()
    assert api_tenant.members_can_create_security_groups is True
    assert reader.get(AUTHZ).json()["defaultUserRolePermissions"]["allowedToCreateSecurityGroups"] is True
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Update company settings")
    assert event.target_resources[0]["modifiedProperties"][0]["displayName"] == "members_can_create_security_groups"
    bad = writer.patch(AUTHZ, {"defaultUserRolePermissions": {"allowedToCreateSecurityGroups": "yes"}}, format="json")
    assert bad.status_code == 400
