"""Cross-tenant access settings: Entra's defaults, the services' rules and audit, and enforcement at
invitation, redemption and entry into the tenant."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from directory.access import AccessRequest, mark_satisfied, satisfied_at
from directory.actors import Actor
from directory.models import AuditEvent, Role
from invitations.services import invitation_create, redeemability_error
from policies import services
from policies.cross_tenant_access import (
    automatic_redemption,
    cross_tenant_access_evaluator,
    decision_for_external,
    invitation_decision,
    mark_trusted_mfa,
)
from policies.models import CrossTenantAccessDefault, CrossTenantAccessPartner
from policies.models.cross_tenant import b2b_setting
from tests.factories import ApplicationFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db
OP = Actor.operator()
BLOCK_ALL = b2b_setting("blocked")


def only(kind: str, ids, access="allowed", other=None) -> dict:
    """A B2B setting that targets ``ids`` (users/groups or apps) and leaves the other half open."""
    setting = b2b_setting("allowed")
    if kind == "applications":
        setting["applications"] = {"accessType": access,
                                   "targets": [{"target": str(i), "targetType": "application"} for i in ids]}
    else:
        setting["usersAndGroups"] = {"accessType": access, "targets": [
            {"target": str(i), "targetType": t} for i, t in ids]}
    return setting


@pytest.fixture
def pair():
    """Tailwind (resource) and Proseware (home) on this platform; Ann, a Proseware member, is Tailwind's guest."""
    tailwind, proseware = TenantFactory(name="Tailwind"), TenantFactory(name="Proseware")
    ann = UserFactory(tenant=proseware)
    guest = GuestFactory(tenant=tailwind, mail=ann.account.email, account=ann.account, external_user_state="Accepted")
    return tailwind, proseware, ann, guest


def test_every_tenant_has_entras_service_defaults():
    default = CrossTenantAccessDefault.objects.get(tenant=TenantFactory())
    assert default.is_service_default
    for setting in (default.b2b_collaboration_inbound, default.b2b_collaboration_outbound):
        assert setting == b2b_setting("allowed")
    assert default.b2b_direct_connect_inbound == b2b_setting("blocked")
    assert default.inbound_trust == {"isMfaAccepted": False, "isCompliantDeviceAccepted": False,
                                     "isHybridAzureADJoinedDeviceAccepted": False}
    assert default.automatic_user_consent_settings == {"inboundAllowed": False, "outboundAllowed": False}
    assert default.invitation_redemption_identity_provider_configuration == {
        "primaryIdentityProviderPrecedenceOrder": ["azureActiveDirectory", "externalFederation",
                                                   "socialIdentityProviders"],
        "fallbackIdentityProvider": "defaultConfiguredIdp"}


def test_updating_the_default_is_audited_under_cross_tenant_access_settings():
    tenant = TenantFactory()
    services.cross_tenant_default_update(actor=OP, tenant=tenant, changes={"b2bCollaborationOutbound": BLOCK_ALL})
    event = AuditEvent.objects.get(tenant=tenant, category="CrossTenantAccessSettings")
    assert event.activity_display_name == "Update a default cross-tenant access setting"
    names = {p["displayName"] for p in event.target_resources[0]["modifiedProperties"]}
    assert {"b2b_collaboration_outbound", "is_service_default"} <= names
    assert not CrossTenantAccessDefault.objects.get(tenant=tenant).is_service_default


def test_reset_to_system_default_restores_entras_defaults():
    tenant = TenantFactory()
    services.cross_tenant_default_update(actor=OP, tenant=tenant, changes={
        "b2bCollaborationInbound": BLOCK_ALL, "inboundTrust": {"isMfaAccepted": True}})
    default = services.cross_tenant_default_reset(actor=OP, tenant=tenant)
    assert default.is_service_default and default.b2b_collaboration_inbound == b2b_setting("allowed")
    assert not default.inbound_trust["isMfaAccepted"]
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name__startswith="Reset the cross").exists()


@pytest.mark.parametrize(("setting", "message"), [
    ({"usersAndGroups": BLOCK_ALL["usersAndGroups"], "applications": b2b_setting()["applications"]},
     "blocking all users and groups requires blocking all applications"),
    ({"usersAndGroups": b2b_setting()["usersAndGroups"], "applications": BLOCK_ALL["applications"]},
     "blocking all applications requires blocking all users"),
    ({"usersAndGroups": b2b_setting()["usersAndGroups"]}, "must have both usersAndGroups and applications"),
    (only("applications", ["not-a-guid"]), "Found invalid target for Applications"),
    (only("usersAndGroups", [("AllUsers", "user"), ("0c7a1c5e-0000-4000-8000-000000000001", "user")]),
     "cannot be combined"),
    ({"usersAndGroups": {"accessType": "unknownFutureValue", "targets": [{"target": "AllUsers",
                                                                            "targetType": "user"}]},
      "applications": b2b_setting()["applications"]}, "accessType must be allowed or blocked"),
])
def test_inconsistent_settings_are_refused_with_graphs_reason_and_nothing_changes(setting, message):
    tenant = TenantFactory()
    with pytest.raises(ValidationError, match=message):
        services.cross_tenant_partner_create(actor=OP, tenant=tenant, partner_tenant_id=TenantFactory().pk,
                                             settings={"b2bCollaborationInbound": setting})
    assert not CrossTenantAccessPartner.objects.filter(tenant=tenant).exists()


def test_the_default_cannot_target_external_users_or_groups():
    with pytest.raises(ValidationError, match="default settings cannot target external users"):
        services.cross_tenant_default_update(actor=OP, tenant=TenantFactory(), changes={
            "b2bCollaborationInbound": only("usersAndGroups", [("0c7a1c5e-0000-4000-8000-000000000001", "user")])})


def test_redemption_order_keeps_a_fallback():
    with pytest.raises(ValidationError, match="at least one fallback"):
        services.cross_tenant_default_update(actor=OP, tenant=TenantFactory(), changes={
            "invitationRedemptionIdentityProviderConfiguration": {
                "primaryIdentityProviderPrecedenceOrder": ["externalFederation"], "fallbackIdentityProvider": None}})


def test_only_security_and_global_administrators_change_the_settings():
    tenant = TenantFactory()
    for role in (Role.USER_ADMINISTRATOR, Role.GUEST_INVITER):
        with pytest.raises(PermissionDenied):
            services.cross_tenant_default_update(actor=Actor.for_user(admin_of(tenant, role)), tenant=tenant,
                                                 changes={"b2bCollaborationOutbound": BLOCK_ALL})
    with pytest.raises(PermissionDenied):
        services.cross_tenant_default_update(actor=Actor.for_user(UserFactory(tenant=tenant)), tenant=tenant,
                                             changes={"b2bCollaborationOutbound": BLOCK_ALL})
    security = Actor.for_user(admin_of(tenant, Role.SECURITY_ADMINISTRATOR))
    services.cross_tenant_default_update(actor=security, tenant=tenant, changes={"b2bCollaborationOutbound": BLOCK_ALL})
    other = TenantFactory()
    with pytest.raises(PermissionDenied):
        services.cross_tenant_default_update(actor=security, tenant=other, changes={"b2bCollaborationOutbound": BLOCK_ALL})


def test_a_partner_is_a_platform_tenant_or_another_deployments_tenant_once_each():
    tenant, partner = TenantFactory(), TenantFactory()
    services.cross_tenant_partner_create(actor=OP, tenant=tenant, partner_tenant_id=partner.pk)
    services.cross_tenant_partner_create(actor=OP, tenant=tenant, partner_tenant_id=partner.pk,
                                         issuer="https://a.example/")
    with pytest.raises(ValidationError, match="already exists"):
        services.cross_tenant_partner_create(actor=OP, tenant=tenant, partner_tenant_id=partner.pk)
    with pytest.raises(ValidationError, match="its own partner"):
        services.cross_tenant_partner_create(actor=OP, tenant=tenant, partner_tenant_id=tenant.pk)
    assert set(CrossTenantAccessPartner.objects.filter(tenant=tenant).values_list("issuer", flat=True)) == {
        "", "https://a.example"}


def test_a_partner_setting_set_to_null_is_inherited_from_the_default_again():
    tenant, other = TenantFactory(), TenantFactory()
    partner = services.cross_tenant_partner_create(actor=OP, tenant=tenant, partner_tenant_id=other.pk,
                                                   settings={"b2bCollaborationInbound": BLOCK_ALL})
    partner = services.cross_tenant_partner_update(actor=OP, partner=partner, changes={"b2bCollaborationInbound": None})
    assert partner.b2b_collaboration_inbound is None
    services.cross_tenant_partner_delete(actor=OP, partner=partner)
    activities = list(AuditEvent.objects.filter(tenant=tenant, category="CrossTenantAccessSettings")
                      .order_by("activity_date_time").values_list("activity_display_name", flat=True))
    assert activities == ["Add a partner to cross-tenant access setting", "Update a partner cross-tenant access setting",
                          "Delete partner specific cross-tenant access setting"]


# --- enforcement ---------------------------------------------------------------------------------------


def test_invitation_is_refused_when_the_resource_blocks_the_partner(pair):
    tailwind, proseware, ann, _guest = pair
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"b2bCollaborationInbound": BLOCK_ALL})
    inviter = Actor.for_user(admin_of(tailwind))
    with pytest.raises(ValidationError, match="do not allow users from Proseware"):
        invitation_create(actor=inviter, tenant=tailwind, email=ann.account.email, redirect_url="https://x.example")
    # Somebody whose home is not a tenant here is not concerned.
    invitation_create(actor=inviter, tenant=tailwind, email="zoe@gmail.example", redirect_url="https://x.example")


def test_invitation_is_refused_when_the_home_tenant_blocks_outbound(pair):
    tailwind, proseware, ann, _guest = pair
    services.cross_tenant_default_update(actor=OP, tenant=proseware, changes={"b2bCollaborationOutbound": BLOCK_ALL})
    decision = invitation_decision(tenant=tailwind, email=ann.account.email)
    assert decision.code == "cross_tenant_outbound_blocked" and "Proseware does not allow" in decision.reasons[0]


def test_a_pending_invitation_cannot_be_redeemed_once_the_partner_is_blocked(pair):
    _tailwind, proseware, ann, _guest = pair
    tailwind = TenantFactory(name="Fabrikam")
    result = invitation_create(actor=Actor.for_user(admin_of(tailwind)), tenant=tailwind, email=ann.account.email,
                               redirect_url="https://x.example")
    assert redeemability_error(result.invitation) is None
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"b2bCollaborationInbound": only("usersAndGroups", [
                                             (GroupFactory(tenant=proseware).pk, "group")])})
    error = redeemability_error(result.invitation)
    assert error is not None and error.code == "cross_tenant_inbound_blocked"


def test_entry_evaluator_blocks_by_user_group_and_app(pair, django_assert_max_num_queries):
    tailwind, proseware, ann, guest = pair
    crm, wiki = ApplicationFactory(tenant=tailwind), ApplicationFactory(tenant=tailwind)
    sales = GroupFactory(tenant=proseware)
    sales.members.add(ann)
    partner = services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk)

    def decide(application=None):
        return cross_tenant_access_evaluator(AccessRequest(tenant=tailwind, user=guest, account=ann.account,
                                                           application=application, resource="app"))

    assert decide(crm).allowed
    services.cross_tenant_partner_update(actor=OP, partner=partner, changes={
        "b2bCollaborationInbound": only("usersAndGroups", [(sales.pk, "group")])})
    with django_assert_max_num_queries(5):
        assert decide(crm).allowed
    sales.members.remove(ann)
    refused = decide(crm)
    assert refused.blocked and "Tailwind does not allow users from your organization" in refused.reason
    services.cross_tenant_partner_update(actor=OP, partner=partner, changes={
        "b2bCollaborationInbound": only("applications", [crm.app_id])})
    assert decide(crm).allowed and decide(wiki).blocked and decide(None).allowed
    # The home side: Proseware lets Ann go only to Tailwind's CRM.
    services.cross_tenant_partner_update(actor=OP, partner=partner, changes={"b2bCollaborationInbound": None})
    services.cross_tenant_partner_create(actor=OP, tenant=proseware, partner_tenant_id=tailwind.pk, settings={
        "b2bCollaborationOutbound": only("applications", [crm.app_id])})
    assert decide(crm).allowed
    assert "Your organization does not allow you to use this application" in decide(wiki).reason


@pytest.mark.parametrize("trusted", [True, False])
def test_home_mfa_satisfies_the_resources_guest_mfa_policy_only_with_inbound_trust(pair, client, trusted):
    tailwind, proseware, ann, _guest = pair
    services.conditional_access_policy_create(
        actor=Actor.operator(tenant=tailwind), tenant=tailwind, acknowledge_lockout=True, data={
            "displayName": "Guests need MFA", "state": "enabled", "grantControls": {"builtInControls": ["mfa"]},
            "conditions": {"users": {"includeGuestsOrExternalUsers": {
                "guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "all"}}},
                "applications": {"includeApplications": ["All"]}}})
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"inboundTrust": {"isMfaAccepted": trusted}})
    client.force_login(ann.account)
    session = client.session
    mark_satisfied(session, proseware, "mfa")  # Ann met MFA at home, in this session
    session.save()
    response = client.get(reverse("directory:panel", args=[tailwind.slug]))
    if trusted:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and "mfa" in response["Location"]


def test_the_access_panel_refuses_entry_with_the_reason(pair, client):
    tailwind, proseware, ann, _guest = pair
    client.force_login(ann.account)
    panel = reverse("directory:panel", args=[tailwind.slug])
    assert client.get(panel).status_code == 200
    services.cross_tenant_default_update(actor=OP, tenant=proseware, changes={"b2bCollaborationOutbound": BLOCK_ALL})
    response = client.get(panel)
    assert response.status_code == 403
    assert "Your organization does not allow you to collaborate with Tailwind" in response.content.decode()
    # Proseware's own members are not concerned by its outbound settings at home.
    assert client.get(reverse("directory:panel", args=[proseware.slug])).status_code == 200


def test_home_mfa_counts_in_the_resource_tenant_only_where_inbound_trust_accepts_it(pair, rf):
    tailwind, proseware, _ann, guest = pair
    session = {}
    mark_satisfied(session, proseware, "mfa", at=1000.0)
    assert not mark_trusted_mfa(session, tenant=tailwind, user=guest)
    assert "mfa" not in satisfied_at(session, tailwind)
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"inboundTrust": {"isMfaAccepted": True}})
    assert mark_trusted_mfa(session, tenant=tailwind, user=guest)
    assert satisfied_at(session, tailwind)["mfa"] == 1000.0  # when it was met at home: frequency still ages it


def test_automatic_redemption_only_with_both_switches(pair):
    tailwind, proseware, ann, _guest = pair
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk, settings={
        "automaticUserConsentSettings": {"inboundAllowed": True}})
    assert not automatic_redemption(tenant=tailwind, account_id=ann.account_id)
    services.cross_tenant_partner_create(actor=OP, tenant=proseware, partner_tenant_id=tailwind.pk, settings={
        "automaticUserConsentSettings": {"outboundAllowed": True}})
    assert automatic_redemption(tenant=tailwind, account_id=ann.account_id)


def test_a_partner_on_another_deployment_is_checked_by_issuer_and_tenant_id():
    tailwind, remote = TenantFactory(name="Tailwind"), "7d1f0c2a-0000-4000-8000-00000000abcd"
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=remote,
                                         issuer="https://a.example", settings={"b2bCollaborationInbound": BLOCK_ALL})
    assert not decision_for_external(resource_tenant=tailwind, issuer="https://a.example/", tenant_id=remote,
                                     user_id="x").allowed
    # The same tenant id from another issuer is another organization: the default applies.
    assert decision_for_external(resource_tenant=tailwind, issuer="https://b.example", tenant_id=remote,
                                 user_id="x").allowed


def test_bulk_invitations_check_cross_tenant_settings_for_a_chunk_in_fixed_queries(django_assert_max_num_queries):
    from policies.cross_tenant_access import invitation_decisions

    tailwind = TenantFactory(name="Tailwind")
    homes = [TenantFactory() for _ in range(3)]
    people = [UserFactory(tenant=homes[i % 3]) for i in range(12)]
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=homes[0].pk, settings={
        "b2bCollaborationInbound": only("usersAndGroups", [(GroupFactory(tenant=homes[0]).pk, "group")])})
    emails = [p.account.email for p in people] + ["nobody@elsewhere.example"]
    with django_assert_max_num_queries(5):
        decisions = invitation_decisions(tenant=tailwind, emails=emails)
    refused = {e for e, d in decisions.items() if not d}
    assert refused == {p.account.email for p in people if p.tenant_id == homes[0].pk}


@pytest.mark.parametrize(("inbound", "outbound", "skipped"), [(True, True, True), (True, False, False),
                                                               (False, True, False)])
def test_consent_is_skipped_only_when_both_automatic_redemption_switches_are_on(client, inbound, outbound, skipped):
    from directory.models import OutboxMessage, User
    from invitations.views import PENDING_KEY

    tailwind, proseware = TenantFactory(name="Tailwind"), TenantFactory(name="Proseware")
    ann = UserFactory(tenant=proseware)
    services.cross_tenant_partner_create(actor=OP, tenant=tailwind, partner_tenant_id=proseware.pk, settings={
        "automaticUserConsentSettings": {"inboundAllowed": inbound}})
    services.cross_tenant_partner_create(actor=OP, tenant=proseware, partner_tenant_id=tailwind.pk, settings={
        "automaticUserConsentSettings": {"outboundAllowed": outbound}})
    result = invitation_create(actor=Actor.for_user(admin_of(tailwind)), tenant=tailwind, email=ann.account.email,
                               redirect_url="https://apps.tailwind.example/")
    client.force_login(ann.account)
    session = client.session
    session[PENDING_KEY] = {"invitation": str(result.invitation.pk), "tenant": str(tailwind.pk)}
    session.save()
    response = client.get(reverse("invitations:consent", args=[tailwind.slug]))
    guest = User.objects.get(pk=result.invitation.invited_user_id)
    notices = OutboxMessage.objects.filter(to=[ann.account.email], subject__contains="You now have access")
    if skipped:
        assert response.status_code == 302 and response["Location"] == "https://apps.tailwind.example/"
        assert guest.external_user_state == "Accepted" and guest.account_id == ann.account_id
        assert notices.count() == 1
    else:
        assert response.status_code == 200 and "invitations/consent.html" in [t.name for t in response.templates]
        assert guest.external_user_state == "PendingAcceptance" and not notices.exists()
