"""Entitlement management's external-user lifecycle: the guests it brought in are blocked when their last
assignment ends, then removed after the tenant's duration, and get access back with a new assignment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.actors import Actor
from directory.models import OutboxMessage, User
from directory.services import user_update
from entitlements import services
from entitlements.models import Assignment, AssignmentRequest, ExternalUserLifecycle
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory

from .scenario import T, member, system, tailwind

pytestmark = pytest.mark.django_db


def _em_guest(s, policy, email="pat@proseware.example"):
    """An external person the administrator assigns directly: entitlement management invites them."""
    request = services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, email=email)
    services.request_deliver(actor=system(), request_id=request.pk)
    request.refresh_from_db()
    assert request.state == "delivered", request.status
    return request.target


def _expire(now=None):
    Assignment.objects.filter(state="delivered").update(expires_at=timezone.now() - timedelta(minutes=1))
    return services.assignments_expire_due(actor=system(), now=now)


def _sweep(days=0):
    now = timezone.now() + timedelta(days=days)
    return services.external_users_block_due(actor=system(), now=now), \
        services.external_users_remove_due(actor=system(), now=now)


def _mails(to, contains):
    return list(OutboxMessage.objects.filter(to=[to], subject__contains=contains).values_list("subject", flat=True))


def test_a_guest_entitlement_management_invited_is_governed_and_sponsored_by_the_admin_who_assigned():
    s = tailwind()
    guest = _em_guest(s, s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS))
    assert guest.is_guest and ExternalUserLifecycle.objects.get(user=guest).governed
    assert list(guest.sponsors.all()) == [s.admin]


def test_the_approver_sponsors_an_external_requestor_the_package_brought_in():
    s = tailwind()
    approver = member(s)
    s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS, is_approval_required_for_add=True,
             stages=[s.stage([approver])])
    proseware = TenantFactory(name="Proseware", slug="proseware", initial_domain="proseware.example")
    pat = UserFactory(tenant=proseware, user_principal_name="pat@proseware.example")
    request = services.request_access(actor=Actor.for_account(pat.account, s.tenant), package=s.package)
    services.approval_decide(actor=Actor.for_user(approver), request=request, approve=True)
    services.request_deliver(actor=system(), request_id=request.pk)
    request.refresh_from_db()
    assert list(request.target.sponsors.all()) == [approver]


def test_last_assignment_ended_blocks_then_removes_after_the_duration_and_tells_the_sponsor():
    s = tailwind()
    services.entitlement_settings_update(actor=s.admin_actor, tenant=s.tenant, changes={
        "external_user_lifecycle_action": "blockSignInAndDelete",
        "duration_until_external_user_deleted_after_blocked": timedelta(days=10)})
    guest = _em_guest(s, s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS))
    assert _sweep() == (0, 0)  # access not ended yet
    _expire()
    assert _sweep() == (1, 0)
    guest.refresh_from_db()
    assert not guest.account_enabled and guest.deleted_at is None
    row = ExternalUserLifecycle.objects.get(user=guest)
    assert row.delete_after_at - row.blocked_at == timedelta(days=10)
    assert _mails(s.admin.mail, "can no longer sign in") == [f"{guest.display_name} can no longer sign in to "
                                                             "Tailwind Traders"]
    assert _sweep(days=9) == (0, 0)
    assert _sweep(days=11) == (0, 1)
    guest.refresh_from_db()
    assert guest.deleted_at is not None
    assert len(_mails(s.admin.mail, "was removed from")) == 1
    assert _sweep(days=12) == (0, 0)


def test_a_german_sponsor_reads_the_notices_in_german():
    s = tailwind()
    User.objects.filter(pk=s.admin.pk).update(preferred_language="de")
    guest = _em_guest(s, s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS))
    _expire()
    _sweep()
    message = OutboxMessage.objects.get(to=[s.admin.mail], subject__contains="kann sich nicht mehr")
    assert "Zugriffspaketzuweisung des Gastes endete" in message.body_text and guest.display_name in message.body_html
    assert 'lang="de"' in message.body_html


def test_block_sign_in_only_never_removes_and_none_does_nothing():
    s = tailwind()
    policy = s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS)
    services.entitlement_settings_update(actor=s.admin_actor, tenant=s.tenant,
                                         changes={"external_user_lifecycle_action": "blockSignIn"})
    guest = _em_guest(s, policy)
    _expire()
    assert _sweep() == (1, 0)
    assert _sweep(days=3000) == (0, 0)
    guest.refresh_from_db()
    assert not guest.account_enabled and guest.deleted_at is None

    services.entitlement_settings_update(actor=s.admin_actor, tenant=s.tenant,
                                         changes={"external_user_lifecycle_action": "none"})
    other = _em_guest(s, policy, email="lee@proseware.example")
    _expire()
    assert _sweep() == (0, 0)
    other.refresh_from_db()
    assert other.account_enabled


def test_guests_the_admin_invited_and_members_are_never_blocked_by_the_lifecycle():
    s = tailwind()
    policy = s.policy(allowed_target_scope=T.ALL_DIRECTORY_USERS)
    invited = GuestFactory(tenant=s.tenant, external_user_state="Accepted", account=AccountFactory())
    ann = member(s)
    for user in (invited, ann):
        services.request_deliver(actor=system(), request_id=services.request_admin_add(
            actor=s.admin_actor, package=s.package, policy=policy, target=user).pk)
    _expire()
    assert _sweep() == (0, 0)
    assert User.objects.filter(pk__in=[invited.pk, ann.pk], account_enabled=True).count() == 2


def test_a_guest_still_holding_another_assignment_keeps_access():
    s = tailwind()
    policy = s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS)
    guest = _em_guest(s, policy)
    second = services.package_create(actor=s.admin_actor, catalog=s.catalog, display_name="Second")
    second_policy = services.policy_create(actor=s.admin_actor, package=second, display_name="P",
                                           allowed_target_scope=T.ALL_DIRECTORY_USERS)
    services.request_deliver(actor=system(), request_id=services.request_admin_add(
        actor=s.admin_actor, package=second, policy=second_policy, target=guest).pk)
    first = Assignment.objects.get(target=guest, package=s.package)
    Assignment.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    services.assignments_expire_due(actor=system())
    assert _sweep() == (0, 0)
    guest.refresh_from_db()
    assert guest.account_enabled
    assert ExternalUserLifecycle.objects.get(user=guest).access_ended_at is None  # settled: not looked at again


def test_a_new_assignment_before_the_removal_gives_access_back_and_cancels_it():
    s = tailwind()
    policy = s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS)
    guest = _em_guest(s, policy)
    _expire()
    _sweep()
    request = services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=guest)
    services.request_deliver(actor=system(), request_id=request.pk)
    request.refresh_from_db()
    guest.refresh_from_db()
    assert request.state == AssignmentRequest.State.DELIVERED and guest.account_enabled
    assert s.group.members.filter(pk=guest.pk).exists()
    assert _sweep(days=40) == (0, 0)
    assert User.objects.get(pk=guest.pk).deleted_at is None


def test_a_guest_an_admin_unblocked_is_not_blocked_again_until_another_assignment_ends():
    s = tailwind()
    guest = _em_guest(s, s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS))
    _expire()
    _sweep()
    user_update(actor=s.admin_actor, user=guest, changes={"account_enabled": True})
    assert _sweep(days=31) == (0, 0)
    guest.refresh_from_db()
    assert guest.account_enabled and guest.deleted_at is None


def test_the_settings_refuse_a_negative_or_endless_duration():
    from django.core.exceptions import ValidationError

    s = tailwind()
    for bad in (timedelta(days=-1), timedelta(days=4000)):
        with pytest.raises(ValidationError):
            services.entitlement_settings_update(actor=s.admin_actor, tenant=s.tenant, changes={
                "duration_until_external_user_deleted_after_blocked": bad})
    services.entitlement_settings_update(actor=s.admin_actor, tenant=s.tenant, changes={
        "duration_until_external_user_deleted_after_blocked": timedelta(0)})
