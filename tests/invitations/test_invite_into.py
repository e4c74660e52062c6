"""Inviting a guest into what you own: one service, one transaction (invitation + membership/assignment)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from directory.actors import Actor
from directory.models import AppRoleAssignment, AuditEvent, OutboxMessage, Role, User
from directory.panel import sections_for
from invitations import services
from invitations.models import Invitation
from policies import services as policy_services
from policies.models import CollaborationSettings
from tests.factories import ApplicationFactory, GroupFactory, TenantFactory, UserFactory, admin_of

AIF = CollaborationSettings.AllowInvitesFrom
pytestmark = pytest.mark.django_db


def allow_invites_from(tenant, level):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                  changes={"allow_invites_from": level})


def test_a_group_owner_invites_a_guest_who_is_a_member_of_the_group_at_once():
    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, display_name="Design Crew")
    group.owners.add(owner)
    result = services.invitation_create_with_grants(actor=Actor.for_user(owner), tenant=tenant,
                                                    email="Guest@Partner.example", groups=[group])
    guest = result.invitation.invited_user
    assert guest.is_guest and group.members.filter(pk=guest.pk).exists()
    assert result.invitation.status == Invitation.Status.PENDING_ACCEPTANCE
    message = OutboxMessage.objects.get(to=["guest@partner.example"])
    assert "Design Crew" in message.body_text and "Design Crew" in message.body_html
    added = AuditEvent.objects.get(activity_display_name="Add member to group")
    assert added.initiated_by["user"]["id"] == str(owner.pk)  # granted as the owner, not as the platform
    assert AuditEvent.objects.filter(activity_display_name="Invite external user").count() == 1


def test_an_app_owner_invites_a_guest_who_is_assigned_the_app():
    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    app = ApplicationFactory(tenant=tenant)
    app.owners.add(owner)
    result = services.invitation_create_with_grants(actor=Actor.for_user(owner), tenant=tenant,
                                                    email="ann@partner.example", applications=[app])
    assert AppRoleAssignment.objects.filter(application=app, user=result.invitation.invited_user).exists()


def test_a_member_may_not_invite_into_a_group_it_does_not_own_and_nothing_is_written():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    with pytest.raises(services.InvitationDenied) as denied:
        services.invitation_create_with_grants(actor=Actor.for_user(member), tenant=tenant,
                                               email="guest@partner.example", groups=[group])
    assert denied.value.code == "grant_not_allowed"
    assert not User.objects.filter(tenant=tenant, mail="guest@partner.example").exists()
    assert not Invitation.objects.exists() and not OutboxMessage.objects.exists()


def test_an_owner_may_not_invite_where_allow_invites_from_says_admins_only_but_a_guest_inviter_may():
    tenant = TenantFactory()
    allow_invites_from(tenant, AIF.ADMINS_AND_GUEST_INVITERS)
    owner = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    with pytest.raises(PermissionDenied):
        services.invitation_create_with_grants(actor=Actor.for_user(owner), tenant=tenant,
                                               email="guest@partner.example", groups=[group])
    assert not group.members.exists()
    inviter = admin_of(tenant, Role.GUEST_INVITER)
    group.owners.add(inviter)
    services.invitation_create_with_grants(actor=Actor.for_user(inviter), tenant=tenant,
                                           email="guest@partner.example", groups=[group])
    assert group.members.count() == 1


def test_the_address_rules_of_every_invitation_apply_and_roll_the_grant_back():
    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    with pytest.raises(ValidationError):
        services.invitation_create_with_grants(actor=Actor.for_user(owner), tenant=tenant,
                                               email=f"someone@{tenant.initial_domain}", groups=[group])
    assert not group.members.exists()


@pytest.mark.parametrize("level, member_sees, guest_sees", [
    (AIF.EVERYONE, True, True),
    (AIF.ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS, True, False),
    (AIF.ADMINS_AND_GUEST_INVITERS, False, False),
    (AIF.NONE, False, False),
])
def test_the_invite_page_is_shown_to_whom_allow_invites_from_allows(level, member_sees, guest_sees):
    from tests.factories import AccountFactory, GuestFactory

    tenant = TenantFactory()
    allow_invites_from(tenant, level)
    member = UserFactory(tenant=tenant)
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
    for person, sees in ((member, member_sees), (guest, guest_sees)):
        assert ("invite" in [s.key for s in sections_for(Actor.for_user(person))]) is sees
        client = Client()
        client.force_login(person.account)
        assert client.get(reverse("invitations:invite", args=[tenant.slug])).status_code == (200 if sees else 404)


def test_the_invite_page_posts_an_invitation_into_what_the_person_owns():
    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    group, other = GroupFactory(tenant=tenant), GroupFactory(tenant=tenant)
    group.owners.add(owner)
    client = Client()
    client.force_login(owner.account)
    url = reverse("invitations:invite", args=[tenant.slug])
    back = reverse("directory:group_manage", args=[tenant.slug, group.pk])
    response = client.post(url, {"email": "bea@partner.example", "group": [str(group.pk)], "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert group.members.filter(mail="bea@partner.example").exists()
    # a group it does not own: refused, nothing granted
    client.post(url, {"email": "cy@partner.example", "group": [str(other.pk)], "next": "https://evil.example/"})
    assert not other.members.exists() and not User.objects.filter(mail="cy@partner.example").exists()


def test_a_membership_the_owner_removes_before_the_guest_redeems_stays_removed():
    from directory import services as directory_services
    from tests.factories import AccountFactory

    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.owners.add(owner)
    result = services.invitation_create_with_grants(actor=Actor.for_user(owner), tenant=tenant,
                                                    email="dee@partner.example", groups=[group])
    guest = result.invitation.invited_user
    directory_services.group_member_remove(actor=Actor.for_user(owner), group=group, user=guest)
    account = AccountFactory(email="dee@partner.example")
    services.invitation_redeem(actor=Actor.for_account(account, tenant), invitation=result.invitation, method="code")
    assert not group.members.filter(pk=guest.pk).exists()


def test_the_invitation_names_the_grants_in_the_invitations_language():
    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant)
    app = ApplicationFactory(tenant=tenant, display_name="Lohnbuchhaltung")
    app.owners.add(owner)
    services.invitation_create_with_grants(actor=Actor.for_user(owner), tenant=tenant, email="jo@partner.example",
                                           applications=[app], message_language="de")
    message = OutboxMessage.objects.get(to=["jo@partner.example"])
    assert "Sie erhalten Zugriff auf: Lohnbuchhaltung." in message.body_text
    assert "Sie erhalten Zugriff auf: <strong>Lohnbuchhaltung</strong>" in message.body_html
