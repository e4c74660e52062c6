from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from directory.actors import Actor
from directory.models import Account, AuditEvent, OutboxMessage, Role, User
from invitations import services
from invitations.models import Invitation
from invitations.selectors import invitation_for_token
from policies import services as policy_services
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


def invite(inviter, tenant, email="ann@partner.example", **kwargs):
    kwargs.setdefault("redirect_url", "https://portal.tailwind.example/")
    return services.invitation_create(
        actor=Actor.for_user(inviter) if inviter else Actor.operator(), tenant=tenant, email=email, **kwargs)


def raw_token(result) -> str:
    return result.redeem_url.rstrip("/").rsplit("/", 1)[1]


def test_invite_creates_a_pending_guest_with_ext_upn_inviter_as_sponsor_and_audit(tenant, inviter):
    result = invite(inviter, tenant, display_name="Ann Partner")
    guest = result.invitation.invited_user
    assert result.user_created
    assert guest.user_principal_name == "ann_partner.example#EXT#@tailwind.example"
    assert guest.user_type == "Guest" and guest.external_user_state == "PendingAcceptance"
    assert guest.creation_type == "Invitation" and guest.account is None
    assert list(guest.sponsors.all()) == [inviter]
    assert guest.identities.get().issuer == "tailwind.example"
    assert result.invitation.status == "PendingAcceptance"
    assert result.invitation.expires_at.date() == (timezone.now() + timedelta(days=30)).date()
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Invite external user").exists()
    assert not OutboxMessage.objects.exists()  # send_message defaults to False: the caller shares the link


def test_link_token_is_long_random_and_stored_only_hashed(tenant, inviter):
    result = invite(inviter, tenant)
    raw = raw_token(result)
    assert len(raw) >= 43  # 256 bits in base64url
    assert raw not in result.invitation.token_hash
    assert invitation_for_token(tenant=tenant, raw_token=raw) == result.invitation
    assert invitation_for_token(tenant=TenantFactory(), raw_token=raw) is None  # bound to its tenant
    assert invitation_for_token(tenant=tenant, raw_token=raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "a b@partner.example", "ann(x)@partner.example", "ann;x@partner.example", ".ann@partner.example",
     "ann-@partner.example", "ann@partner", "a" * 250 + "@x.example", "", "ann@@partner.example"],
)
def test_malformed_addresses_are_refused_with_a_field_error_and_nothing_written(tenant, inviter, email):
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, email=email)
    assert "email" in exc.value.message_dict
    assert not Invitation.objects.exists()
    assert not User.objects.guests().exists()


@pytest.mark.parametrize("email", ["ann_b@partner.example", "ann.b-c@partner.example", "Ann@Partner.Example"])
def test_addresses_graph_accepts_are_accepted(tenant, inviter, email):
    assert invite(inviter, tenant, email=email).invitation.invited_email == email.lower()


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//evil.example", "https://", "ftp://x.example",
     "https://user:pw@evil.example", "https://ok.example/\x00", "https://ok.example:99999/", "https:\\\\evil.example"],
)
def test_unsafe_redirect_urls_are_refused(tenant, inviter, url):
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, redirect_url=url)
    assert "redirect_url" in exc.value.message_dict


def test_policy_none_blocks_even_admins(tenant, inviter):
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"allow_invites_from": "none"})
    with pytest.raises(services.InvitationDenied) as exc:
        invite(inviter, tenant)
    assert exc.value.code == "invitations_disabled"
    assert not Invitation.objects.exists()


def test_admins_only_policy_lets_guest_inviters_in_and_members_not(tenant):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                  changes={"allow_invites_from": "adminsAndGuestInviters"})
    invite(admin_of(tenant, Role.GUEST_INVITER), tenant, email="one@partner.example")
    with pytest.raises(services.InvitationDenied):
        invite(UserFactory(tenant=tenant), tenant, email="two@partner.example")


def test_guests_invite_only_when_everyone_may(tenant, inviter):
    guest = GuestFactory(tenant=tenant, account=UserFactory().account,
                         external_user_state="Accepted")
    with pytest.raises(services.InvitationDenied):
        invite(guest, tenant, email="friend@partner.example")
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"allow_invites_from": "everyone"})
    assert invite(guest, tenant, email="friend@partner.example").invitation.pk


def test_someone_outside_the_tenant_cannot_invite(tenant):
    with pytest.raises(services.InvitationDenied) as exc:
        invite(UserFactory(), tenant)
    assert exc.value.code == "not_in_tenant"


def test_only_admins_may_invite_members(tenant):
    member = UserFactory(tenant=tenant)
    with pytest.raises(services.InvitationDenied):
        invite(member, tenant, user_type="Member")
    result = invite(admin_of(tenant), tenant, user_type="Member")
    assert result.invitation.invited_user.user_type == "Member"


def test_blocked_and_not_allowed_domains_are_refused(tenant, inviter):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "block", "domains": ["blocked.example"]})
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, email="x@blocked.example")
    assert "blocked" in str(exc.value)
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "allow", "domains": ["partner.example"]})
    with pytest.raises(ValidationError):
        invite(inviter, tenant, email="x@other.example")
    assert invite(inviter, tenant, email="x@partner.example").invitation


def test_own_domain_and_existing_members_are_refused(tenant, inviter):
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, email="someone@tailwind.example")
    assert "own domain" in str(exc.value)
    UserFactory(tenant=tenant, mail="member@elsewhere.example", user_principal_name="m@tailwind.example")
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, email="member@elsewhere.example")
    assert "already belongs" in str(exc.value)


def test_inviting_again_reuses_the_guest_and_voids_the_earlier_link(tenant, inviter):
    first = invite(inviter, tenant)
    second = invite(inviter, tenant)
    assert not second.user_created
    assert second.invitation.invited_user == first.invitation.invited_user
    first.invitation.refresh_from_db()
    assert first.invitation.status == "Revoked"
    assert services.redeemability_error(first.invitation).code == "revoked"


def test_sending_queues_one_branded_mail_with_the_custom_message_escaped(tenant, inviter):
    from directory.models import Branding

    Branding.objects.create(tenant=tenant, accent_color="#123456")
    result = invite(inviter, tenant, send_message=True, message_body='<script>alert("x")</script> Welcome!')
    message = OutboxMessage.objects.get()
    assert message.to == ["ann@partner.example"] and message.tenant == tenant
    assert "Tailwind Traders" in message.subject
    assert result.redeem_url in message.body_text and result.redeem_url in message.body_html
    assert "<script>" not in message.body_html and "&lt;script&gt;" in message.body_html
    assert '<script>alert("x")</script> Welcome!' in message.body_text  # plain text stays as typed
    assert "#123456" in message.body_html
    assert message.dedupe_key == f"invitation:{result.invitation.pk}:1"


def test_message_language_picks_the_german_template(tenant, inviter):
    invite(inviter, tenant, send_message=True, message_language="de")
    message = OutboxMessage.objects.get()
    assert "eingeladen" in message.subject
    assert "Einladung annehmen" in message.body_html


def test_resend_rotates_the_link_and_is_rate_limited(tenant, inviter):
    result = invite(inviter, tenant, send_message=True)
    old = raw_token(result)
    Invitation.objects.filter(pk=result.invitation.pk).update(last_sent_at=timezone.now() - timedelta(minutes=5))
    new_url = services.invitation_resend(actor=Actor.for_user(inviter), invitation=result.invitation)
    assert invitation_for_token(tenant=tenant, raw_token=old) is None
    assert invitation_for_token(tenant=tenant, raw_token=new_url.rstrip("/").rsplit("/", 1)[1])
    assert OutboxMessage.objects.count() == 2
    with pytest.raises(ValidationError) as exc:
        services.invitation_resend(actor=Actor.for_user(inviter), invitation=result.invitation)
    assert exc.value.code == "rate_limited"
    assert OutboxMessage.objects.count() == 2


def test_revoked_invitation_cannot_be_redeemed_or_revoked_twice(tenant, inviter):
    result = invite(inviter, tenant)
    services.invitation_revoke(actor=Actor.for_user(inviter), invitation=result.invitation)
    with pytest.raises(services.RedemptionError) as exc:
        services.invitation_redeem(
            actor=Actor.for_account(Account.objects.create_user("ann@partner.example"), None), invitation=result.invitation,
                                   method="code")
    assert exc.value.code == "revoked"
    with pytest.raises(ValidationError):
        services.invitation_revoke(actor=Actor.for_user(inviter), invitation=result.invitation)


def test_redeem_links_the_account_applies_grants_and_is_single_use(tenant, inviter, shared_app, partner_group):
    result = invite(inviter, tenant, applications=[shared_app], groups=[partner_group])
    account = services.guest_account_for(email="ann@partner.example")
    assert account.has_usable_password() is False and account.password != ""
    guest = services.invitation_redeem(actor=Actor.for_account(account, None), invitation=result.invitation, method="code")
    assert guest.account == account and guest.external_user_state == "Accepted"
    assert guest.external_user_state_changed_at is not None
    assert list(guest.identities.values_list("sign_in_type", "issuer")) == [("emailAddress", "mail")]
    assert partner_group.members.filter(pk=guest.pk).exists()
    assert shared_app.assignments.filter(user=guest).exists()
    result.invitation.refresh_from_db()
    assert result.invitation.status == "Completed" and result.invitation.redeemed_at
    assert AuditEvent.objects.filter(activity_display_name="Redeem external user invite").count() == 1
    with pytest.raises(services.RedemptionError) as exc:
        services.invitation_redeem(actor=Actor.for_account(account, None), invitation=result.invitation, method="code")
    assert exc.value.code == "already_redeemed"


def test_redeem_with_another_address_is_refused(tenant, inviter):
    result = invite(inviter, tenant)
    with pytest.raises(services.RedemptionError) as exc:
        services.invitation_redeem(
            actor=Actor.for_account(Account.objects.create_user("mallory@evil.example"), None),
            invitation=result.invitation, method="code")
    assert exc.value.code == "wrong_account"
    assert User.objects.get(pk=result.invitation.invited_user_id).account is None


def test_expired_invitation_cannot_be_redeemed(tenant, inviter):
    result = invite(inviter, tenant, expires_in_days=1)
    Invitation.objects.filter(pk=result.invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    result.invitation.refresh_from_db()
    with pytest.raises(services.RedemptionError) as exc:
        services.invitation_redeem(
            actor=Actor.for_account(services.guest_account_for(email="ann@partner.example"), None),
            invitation=result.invitation, method="code")
    assert exc.value.code == "expired"


def test_never_expiring_invitation(tenant, inviter):
    assert invite(inviter, tenant, expires_in_days=None).invitation.expires_at is None


def test_pending_invitation_fails_once_its_domain_is_blocked_but_redeemed_guests_stay(tenant, inviter):
    redeemed = invite(inviter, tenant, email="early@partner.example")
    guest = services.invitation_redeem(
        actor=Actor.for_account(services.guest_account_for(email="early@partner.example"), None),
        invitation=redeemed.invitation, method="code")
    pending = invite(inviter, tenant, email="late@partner.example")
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "block", "domains": ["partner.example"]})
    with pytest.raises(services.RedemptionError) as exc:
        services.invitation_redeem(
            actor=Actor.for_account(services.guest_account_for(email="late@partner.example"), None),
            invitation=pending.invitation, method="code")
    assert exc.value.code == "domain_blocked"
    guest.refresh_from_db()
    assert guest.external_user_state == "Accepted" and guest.account_id


def test_reset_redemption_keeps_the_user_and_its_access_but_not_the_old_sign_in(tenant, inviter, shared_app,
                                                                               partner_group):
    first = invite(inviter, tenant, applications=[shared_app], groups=[partner_group])
    old_account = services.guest_account_for(email="ann@partner.example")
    guest = services.invitation_redeem(
        actor=Actor.for_account(old_account, None), invitation=first.invitation, method="code")
    guest.other_mails = ["ann@newco.example"]
    guest.save()
    reset = services.invitation_reset_redemption(actor=Actor.for_user(inviter), user=guest, email="ann@newco.example",
                                                 redirect_url="https://portal.tailwind.example/")
    guest.refresh_from_db()
    assert guest.pk == reset.invitation.invited_user_id
    assert guest.account is None and guest.external_user_state == "PendingAcceptance"
    assert guest.mail == "ann@newco.example" and "ann@partner.example" in guest.other_mails
    assert guest.user_principal_name == "ann_partner.example#EXT#@tailwind.example"  # UPN unchanged
    assert partner_group.members.filter(pk=guest.pk).exists() and shared_app.assignments.filter(user=guest).exists()
    with pytest.raises(services.RedemptionError):  # the old address can't take it back
        services.invitation_redeem(actor=Actor.for_account(old_account, None), invitation=reset.invitation, method="code")
    new_account = services.guest_account_for(email="ann@newco.example")
    assert services.invitation_redeem(
        actor=Actor.for_account(new_account, None), invitation=reset.invitation, method="code").account == new_account
    assert AuditEvent.objects.filter(activity_display_name="Reset user redemption status").exists()


def test_reset_redemption_needs_a_known_address_and_an_admin(tenant, inviter):
    result = invite(inviter, tenant)
    guest = result.invitation.invited_user
    with pytest.raises(ValidationError) as exc:
        services.invitation_reset_redemption(actor=Actor.for_user(inviter), user=guest, email="unknown@else.example",
                                             redirect_url="https://x.example/")
    assert "must already be the user's mail" in str(exc.value)
    with pytest.raises(services.InvitationDenied):
        services.invitation_reset_redemption(actor=Actor.for_user(UserFactory(tenant=tenant)), user=guest,
                                             email="ann@partner.example", redirect_url="https://x.example/")


def test_inviting_an_accepted_guest_completes_at_once_and_grants_access(tenant, inviter, shared_app):
    first = invite(inviter, tenant)
    guest = services.invitation_redeem(
        actor=Actor.for_account(services.guest_account_for(email="ann@partner.example"), None),
        invitation=first.invitation, method="code")
    again = invite(inviter, tenant, applications=[shared_app])
    assert again.invitation.status == "Completed"
    assert shared_app.assignments.filter(user=guest).exists()


def test_non_admins_grant_only_the_groups_and_apps_they_own(tenant, shared_app, partner_group):
    inviter = admin_of(tenant, Role.GUEST_INVITER)
    with pytest.raises(services.InvitationDenied) as exc:
        invite(inviter, tenant, groups=[partner_group])
    assert exc.value.code == "grant_not_allowed"
    with pytest.raises(services.InvitationDenied):
        invite(inviter, tenant, email="b@partner.example", applications=[shared_app])
    assert not Invitation.objects.exists()
    partner_group.owners.add(inviter)
    shared_app.owners.add(inviter)
    result = invite(inviter, tenant, groups=[partner_group], applications=[shared_app])
    assert list(result.invitation.groups.all()) == [partner_group]


def test_groups_administrator_may_grant_any_group(tenant, partner_group):
    inviter = admin_of(tenant, Role.GROUPS_ADMINISTRATOR)
    assert invite(inviter, tenant, groups=[partner_group]).invitation.pk
