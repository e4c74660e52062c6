"""/v1.0/identity/conditionalAccess/{policies,namedLocations,evaluate} and
/v1.0/identityGovernance/termsOfUse/agreements: contracts, Graph's shapes and errors."""

import base64

import pytest

from directory.models import AuditEvent, Role
from policies.conditional_access import ADMIN_PORTAL_APP_ID
from policies.models import Agreement, AgreementAcceptance, ConditionalAccessPolicy, NamedLocation
from tests.api.contract import EndpointContract
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

CA = "/v1.0/identity/conditionalAccess"
TOU = "/v1.0/identityGovernance/termsOfUse/agreements"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def mfa_for_guests(**extra) -> dict:
    return {"displayName": "Guests need MFA", "state": "enabled",
            "conditions": {"users": {"includeGuestsOrExternalUsers": {
                "guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "all"}}},
                "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}, **extra}


def make_policy(tenant, **fields) -> ConditionalAccessPolicy:
    from policies.conditional_access import normalize_conditions, normalize_grant_controls

    conditions, _ = normalize_conditions(mfa_for_guests()["conditions"])
    grant, _ = normalize_grant_controls({"builtInControls": ["mfa"]})
    return ConditionalAccessPolicy.objects.create(tenant=tenant, display_name="P", state="disabled",
                                                  conditions=conditions, grant_controls=grant, **fields)


def make_location(tenant) -> NamedLocation:
    return NamedLocation.objects.create(tenant=tenant, kind="ip", display_name="Office", ip_ranges=["203.0.113.0/24"])


def make_agreement(tenant) -> Agreement:
    agreement = Agreement.objects.create(tenant=tenant, display_name="Guest terms")
    agreement.files.create(language="en", is_default=True, text="Be nice.")
    return agreement


# --- contracts ---------------------------------------------------------------------------------------


class _CARead(EndpointContract):
    permission = "Policy.Read.All"
    guest_status = 403
    member_status = 403  # a member's token may carry Policy.Read.All; reading CA needs a role too


class _CAWrite(EndpointContract):
    permission = "Policy.ReadWrite.ConditionalAccess"
    other_permission = "Policy.Read.All"
    guest_status = 403
    member_status = 403


class TestListPolicies(_CARead):
    route = "identity/conditionalAccess/policies"


class TestCreatePolicy(_CAWrite):
    route = "identity/conditionalAccess/policies"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return mfa_for_guests()


class TestGetPolicy(_CARead):
    route = "identity/conditionalAccess/policies/<str:policy_id>"

    def make_target(self, tenant):
        return {"policy_id": make_policy(tenant).pk}


class TestPatchPolicy(_CAWrite):
    route = "identity/conditionalAccess/policies/<str:policy_id>"
    method = "patch"
    ok_status = 204

    def make_target(self, tenant):
        return {"policy_id": make_policy(tenant).pk}

    def body(self, tenant, target):
        return {"state": "enabledForReportingButNotEnforced"}


class TestDeletePolicy(TestPatchPolicy):
    method = "delete"

    def body(self, tenant, target):
        return None


class TestListNamedLocations(_CARead):
    route = "identity/conditionalAccess/namedLocations"


class TestCreateNamedLocation(_CAWrite):
    route = "identity/conditionalAccess/namedLocations"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return {"@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": "Blocked",
                "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": False}


class TestGetNamedLocation(_CARead):
    route = "identity/conditionalAccess/namedLocations/<str:location_id>"

    def make_target(self, tenant):
        return {"location_id": make_location(tenant).pk}


class TestPatchNamedLocation(_CAWrite):
    route = "identity/conditionalAccess/namedLocations/<str:location_id>"
    method = "patch"
    ok_status = 204

    def make_target(self, tenant):
        return {"location_id": make_location(tenant).pk}

    def body(self, tenant, target):
        return {"displayName": "Head office"}


class TestDeleteNamedLocation(TestPatchNamedLocation):
    method = "delete"

    def body(self, tenant, target):
        return None


class TestEvaluate(_CARead):
    route = "identity/conditionalAccess/evaluate"
    method = "post"

    def body(self, tenant, target):
        return {"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn"},
                "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                                  "includeApplications": [ADMIN_PORTAL_APP_ID]},
                "signInConditions": {"devicePlatform": "windows", "clientAppType": "browser"}}


class _TouRead(EndpointContract):
    permission = "Agreement.Read.All"
    guest_status = 403
    member_status = 403


class _TouWrite(EndpointContract):
    permission = "Agreement.ReadWrite.All"
    other_permission = "Agreement.Read.All"
    guest_status = 403
    member_status = 403


class TestListAgreements(_TouRead):
    route = "identityGovernance/termsOfUse/agreements"


class TestCreateAgreement(_TouWrite):
    route = "identityGovernance/termsOfUse/agreements"
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return {"displayName": "Guest terms", "isViewingBeforeAcceptanceRequired": True,
                "files": [{"language": "en", "fileName": "terms.pdf", "isDefault": True,
                           "fileData": {"data": base64.b64encode(PDF).decode()}}]}


class TestGetAgreement(_TouRead):
    route = "identityGovernance/termsOfUse/agreements/<str:agreement_id>"

    def make_target(self, tenant):
        return {"agreement_id": make_agreement(tenant).pk}


class TestPatchAgreement(_TouWrite):
    route = "identityGovernance/termsOfUse/agreements/<str:agreement_id>"
    method = "patch"
    ok_status = 204

    def make_target(self, tenant):
        return {"agreement_id": make_agreement(tenant).pk}

    def body(self, tenant, target):
        return {"userReacceptRequiredFrequency": "P90D"}


class TestDeleteAgreement(TestPatchAgreement):
    method = "delete"

    def body(self, tenant, target):
        return None


class TestListAcceptances(_TouRead):
    route = "identityGovernance/termsOfUse/agreements/<str:agreement_id>/acceptances"

    def make_target(self, tenant):
        return {"agreement_id": make_agreement(tenant).pk}


# --- behaviour ----------------------------------------------------------------------------------------


@pytest.fixture
def writer(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Policy.ReadWrite.ConditionalAccess", "Agreement.ReadWrite.All"]))


def test_a_created_policy_reads_back_in_graphs_shape_with_defaults(writer, api_tenant):
    response = writer.post(f"{CA}/policies", mfa_for_guests(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(f"/identity/conditionalAccess/policies/{body['id']}")
    users = body["conditions"]["users"]
    assert users["includeUsers"] == [] and users["excludeGroups"] == []
    assert users["includeGuestsOrExternalUsers"]["externalTenants"]["@odata.type"] == \
        "#microsoft.graph.conditionalAccessAllExternalTenants"
    assert body["conditions"]["clientAppTypes"] == ["all"]
    assert body["grantControls"] == {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [],
                                     "termsOfUse": [], "authenticationStrength": None}
    assert body["sessionControls"] is None and body["state"] == "enabled"
    listed = writer.get(f"{CA}/policies").json()["value"]
    assert [p["id"] for p in listed] == [body["id"]]
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Add conditional access policy")
    assert event.category == "Policy"


@pytest.mark.parametrize("change,message", [
    ({"grantControls": {"builtInControls": ["block", "mfa"]}}, "1032: ConditionalAccessPolicy validation failed due "
                                                               "to InvalidBlockControl"),
    ({"grantControls": {"builtInControls": ["compliantDevice"]}}, "UnsupportedGrantControl"),
    ({"grantControls": {"builtInControls": ["mfa"], "operator": "XOR"}}, "1007: Incoming ConditionalAccessPolicy"),
    ({"conditions": {"users": {"includeUsers": ["All"]}, "applications": {}}}, "InvalidConditionsApplications"),
    ({"conditions": {"users": {"includeUsers": ["not-a-guid"]}, "applications": {"includeApplications": ["All"]}}},
     "is not a valid id"),
    ({"conditions": {"users": {"includeUsers": ["11111111-1111-1111-1111-111111111111"]},
                     "applications": {"includeApplications": ["All"]}}}, "is not a user of this organization"),
    ({"conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                     "locations": {"includeLocations": ["11111111-1111-1111-1111-111111111111"]}}},
     "is not a named location of this organization"),
    ({"conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                     "platforms": {"includePlatforms": ["beos"]}}}, "conditionalAccessDevicePlatform"),
    ({"state": "on"}, "Property 'state' must be"),
    ({"sessionControls": {"signInFrequency": {"value": 30, "type": "hours"}}}, "1 to 24 hours"),
    ({"conditions": {"users": {"includeUsers": ["All"]}, "applications": {
        "includeUserActions": ["urn:user:registersecurityinfo"]}}, "state": "enabledForReportingButNotEnforced"},
     "Report-only mode is not available"),
])
def test_invalid_policies_are_refused_with_graphs_messages(writer, change, message):
    response = writer.post(f"{CA}/policies", {**mfa_for_guests(), **change}, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]


def test_another_tenants_group_cannot_be_named(writer, api_tenant):
    from tests.factories import GroupFactory

    foreign = GroupFactory(tenant=TenantFactory())
    body = mfa_for_guests(conditions={"users": {"includeGroups": [str(foreign.pk)]},
                                      "applications": {"includeApplications": ["All"]}})
    response = writer.post(f"{CA}/policies", body, format="json")
    assert response.status_code == 400
    assert "is not a group of this organization" in response.json()["error"]["message"]


def test_patch_merges_conditions_and_audits_old_and_new(writer, api_tenant):
    created = writer.post(f"{CA}/policies", mfa_for_guests(), format="json").json()
    response = writer.patch(f"{CA}/policies/{created['id']}", {
        "conditions": {"platforms": {"includePlatforms": ["android", "iOS"]}}}, format="json")
    assert response.status_code == 204, response.content
    policy = writer.get(f"{CA}/policies/{created['id']}").json()
    assert policy["conditions"]["platforms"]["includePlatforms"] == ["android", "iOS"]
    assert policy["conditions"]["users"]["includeGuestsOrExternalUsers"]  # kept
    assert policy["modifiedDateTime"]
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Update conditional access policy")
    [change] = event.target_resources[0]["modifiedProperties"]
    assert change["displayName"] == "conditions" and "android" in change["newValue"]
    assert "android" not in change["oldValue"]


def test_at_most_195_policies(writer, api_tenant):
    ConditionalAccessPolicy.objects.bulk_create([
        ConditionalAccessPolicy(tenant=api_tenant, display_name=f"P{i}", state="disabled",
                                conditions=make_policy(api_tenant).conditions) for i in range(194)])
    response = writer.post(f"{CA}/policies", mfa_for_guests(), format="json")
    assert response.status_code == 400
    assert "limit of 195" in response.json()["error"]["message"]


def test_named_locations_in_graphs_polymorphic_shapes(writer):
    response = writer.post(f"{CA}/namedLocations", {
        "@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Office", "isTrusted": True,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.7/24"},
                     {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/48"}]},
        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["@odata.type"] == "#microsoft.graph.ipNamedLocation"
    assert body["ipRanges"] == [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
                                {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/48"}]
    country = writer.post(f"{CA}/namedLocations", {
        "@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": "Embargo",
        "countriesAndRegions": ["kp", "IR"], "includeUnknownCountriesAndRegions": True}, format="json").json()
    assert country["countriesAndRegions"] == ["IR", "KP"] and country["countryLookupMethod"] == "clientIpAddress"
    listed = writer.get(f"{CA}/namedLocations").json()["value"]
    assert {x["@odata.type"] for x in listed} == {"#microsoft.graph.ipNamedLocation",
                                                  "#microsoft.graph.countryNamedLocation"}


@pytest.mark.parametrize("ranges,message", [
    ([{"cidrAddress": "10.0.0.0/8"}], "longer than /8"),
    ([{"cidrAddress": "300.1.1.1/24"}], "not a valid CIDR"),
    ([{"cidrAddress": "203.0.113.7"}], "prefix length"),
    ([], "at least one"),
])
def test_bad_ip_ranges_are_refused(writer, ranges, message):
    response = writer.post(f"{CA}/namedLocations", {"@odata.type": "#microsoft.graph.ipNamedLocation",
                                                    "displayName": "X", "ipRanges": ranges}, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_a_location_in_use_or_trusted_is_not_deleted(writer, api_tenant):
    location = writer.post(f"{CA}/namedLocations", {"@odata.type": "#microsoft.graph.ipNamedLocation",
                                                    "displayName": "Office", "isTrusted": True,
                                                    "ipRanges": [{"cidrAddress": "203.0.113.0/24"}]},
                           format="json").json()
    response = writer.delete(f"{CA}/namedLocations/{location['id']}")
    assert response.status_code == 400 and "Untrust" in response.json()["error"]["message"]
    writer.patch(f"{CA}/namedLocations/{location['id']}", {"isTrusted": False}, format="json")
    writer.post(f"{CA}/policies", mfa_for_guests(conditions={
        "users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
        "locations": {"includeLocations": [location["id"]]}}), format="json")
    response = writer.delete(f"{CA}/namedLocations/{location['id']}")
    assert response.status_code == 400 and "Guests need MFA" in response.json()["error"]["message"]


def test_lockout_is_refused_unless_acknowledged(api, delegated_token_for, api_tenant):
    admin = admin_of(api_tenant, Role.SECURITY_ADMINISTRATOR)
    client = api(delegated_token_for(admin, ["Policy.ReadWrite.ConditionalAccess"]))
    block_all = {"displayName": "Block everyone", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"builtInControls": ["block"], "operator": "OR"}}
    response = client.post(f"{CA}/policies", block_all, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "ConditionalAccessLockout"
    assert str(admin.pk) in error["message"] and "Prefer: acknowledge-lockout" in error["message"]
    assert not ConditionalAccessPolicy.objects.filter(tenant=api_tenant).exists()

    # the suggested exclusion makes it safe (for this admin, and not every admin is blocked)
    safe = {**block_all, "conditions": {**block_all["conditions"],
                                        "users": {"includeUsers": ["All"], "excludeUsers": [str(admin.pk)]}}}
    assert client.post(f"{CA}/policies", safe, format="json").status_code == 201
    # or the admin confirms
    response = client.post(f"{CA}/policies", block_all, format="json", HTTP_PREFER="acknowledge-lockout")
    assert response.status_code == 201
    event = AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Add conditional access policy") \
        .order_by("-activity_date_time").first()
    assert {"key": "lockoutAcknowledged", "value": "True"} in event.additional_details
    # confirmed once: renaming it is not asked again; switching a safe policy to lock-out is
    policy_id = response.json()["id"]
    assert client.patch(f"{CA}/policies/{policy_id}", {"displayName": "Block all"}, format="json").status_code == 204
    safe_id = ConditionalAccessPolicy.objects.get(tenant=api_tenant, conditions__users__excludeUsers=[str(admin.pk)]).pk
    response = client.patch(f"{CA}/policies/{safe_id}", {"conditions": {"users": {"excludeUsers": []}}}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "ConditionalAccessLockout"


def test_an_app_may_not_lock_out_every_administrator_either(writer, api_tenant):
    admin_of(api_tenant)
    body = {"displayName": "Block the console", "state": "enabled",
            "conditions": {"users": {"includeRoles": [Role.GLOBAL_ADMINISTRATOR.value]},
                           "applications": {"includeApplications": ["MicrosoftAdminPortals"]}},
            "grantControls": {"builtInControls": ["block"]}}
    response = writer.post(f"{CA}/policies", body, format="json")
    assert response.status_code == 400 and "every administrator" in response.json()["error"]["message"]
    assert writer.post(f"{CA}/policies", {**body, "state": "enabledForReportingButNotEnforced"},
                       format="json").status_code == 201


def test_a_member_with_policy_read_all_does_not_read_conditional_access(api, delegated_token_for, api_tenant):
    member = UserFactory(tenant=api_tenant)
    response = api(delegated_token_for(member, ["Policy.Read.All"])).get(f"{CA}/policies")
    assert response.status_code == 403
    admin = admin_of(api_tenant, Role.SECURITY_ADMINISTRATOR)
    assert api(delegated_token_for(admin, ["Policy.Read.All"])).get(f"{CA}/policies").status_code == 200


def test_what_if_says_which_policies_apply_and_why_not(writer, api_tenant):
    guest = GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted")
    guests_mfa = writer.post(f"{CA}/policies", mfa_for_guests(), format="json").json()
    location = writer.post(f"{CA}/namedLocations", {"@odata.type": "#microsoft.graph.countryNamedLocation",
                                                    "displayName": "Embargo", "countriesAndRegions": ["KP"]},
                           format="json").json()
    block = writer.post(f"{CA}/policies", {
        "displayName": "Block embargoed countries", "state": "enabledForReportingButNotEnforced",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                       "locations": {"includeLocations": [location["id"]]}},
        "grantControls": {"builtInControls": ["block"]}}, format="json").json()
    writer.post(f"{CA}/policies", {**mfa_for_guests(), "displayName": "Off", "state": "disabled"}, format="json")

    def ask(**conditions):
        response = writer.post(f"{CA}/evaluate", {
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": str(guest.pk)},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                              "includeApplications": ["2793995e-0a7d-40d7-bd35-6968ba142197"]},
            "signInConditions": conditions}, format="json")
        assert response.status_code == 200, response.content
        return {r["displayName"]: (r["policyApplies"], r["analysisReasons"]) for r in response.json()["value"]}

    assert ask(country="DE", devicePlatform="windows") == {
        guests_mfa["displayName"]: (True, "notSet"), block["displayName"]: (False, "location")}
    assert ask(ipAddress="175.45.176.1")[block["displayName"]] == (True, "notSet")  # North Korea by IP


def test_terms_of_use_in_graphs_shape_and_acceptances(writer, api_tenant):
    response = writer.post(TOU, {"displayName": "Guest terms", "isViewingBeforeAcceptanceRequired": True,
                                 "userReacceptRequiredFrequency": "P30D",
                                 "files": [{"language": "en", "fileName": "terms.pdf", "isDefault": True,
                                            "fileData": {"data": base64.b64encode(PDF).decode()}},
                                           {"language": "de", "text": "Seien Sie nett."}]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["userReacceptRequiredFrequency"] == "P30D" and body["isPerDeviceAcceptanceRequired"] is False
    agreement = Agreement.objects.get(pk=body["id"])
    assert agreement.files.get(language="en").pdf.read() == PDF
    guest = GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted")
    AgreementAcceptance.objects.create(tenant=api_tenant, agreement=agreement, agreement_version=1, user=guest,
                                       ip_address="198.51.100.1")
    acceptances = writer.get(f"{TOU}/{agreement.pk}/acceptances").json()["value"]
    assert [(a["userId"], a["state"], a["agreementVersion"]) for a in acceptances] == [
        (str(guest.pk), "accepted", "1")]
    assert writer.post(TOU, {"displayName": "x", "files": [{"language": "en", "fileData": {"data": "bm90IGEgcGRm"}}]},
                       format="json").status_code == 400


def test_lists_cost_the_same_few_queries_with_many_rows(writer, api_tenant, django_assert_max_num_queries):
    policy = make_policy(api_tenant)
    ConditionalAccessPolicy.objects.bulk_create([
        ConditionalAccessPolicy(tenant=api_tenant, display_name=f"P{i}", state="disabled",
                                conditions=policy.conditions, grant_controls=policy.grant_controls)
        for i in range(150)])
    NamedLocation.objects.bulk_create([NamedLocation(tenant=api_tenant, kind="ip", display_name=f"L{i}",
                                                     ip_ranges=["203.0.113.0/24"]) for i in range(150)])
    agreement = make_agreement(api_tenant)
    for _ in range(30):
        make_agreement(api_tenant)
    guests = [GuestFactory(tenant=api_tenant) for _ in range(20)]
    AgreementAcceptance.objects.bulk_create([AgreementAcceptance(tenant=api_tenant, agreement=agreement,
                                                                 agreement_version=1, user=g) for g in guests])
    writer.get(f"{CA}/policies")  # the token and app are cached as for any caller
    for url, rows in ((f"{CA}/policies?$top=999", 151), (f"{CA}/namedLocations?$top=999", 150),
                      (f"{TOU}?$top=999", 31), (f"{TOU}/{agreement.pk}/acceptances", 20)):
        with django_assert_max_num_queries(8):
            response = writer.get(url)
        assert response.status_code == 200 and len(response.json()["value"]) == rows


@pytest.mark.parametrize("file", [
    {"language": "en\x00", "text": "Be nice."},
    {"language": "en", "text": "Be\x00 nice."},
    {"language": "en", "text": "Be nice.", "fileName": "a\x00.pdf"},
    {"language": "e" * 36, "text": "Be nice."},
    {"language": "en; drop", "text": "Be nice."},
])
def test_agreement_files_with_nul_characters_or_odd_languages_are_a_clear_400(writer, api_tenant, file):
    response = writer.post(TOU, {"displayName": "Terms", "files": [file]}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]
    assert not Agreement.objects.filter(tenant=api_tenant).exists()  # nothing half-written
