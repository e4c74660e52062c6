"""Block a guest now, remove them from the tenant later (the external-user lifecycle's two steps)."""

from datetime import timedelta

import pytest
from allauth.idp.oidc.models import Token
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from directory.actors import Actor
from directory.models import AuditEvent, Role, User
from entitlements import services
from entitlements.models import ExternalUserLifecycle
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


def system():
    return Actor.system(None, "tests")


def _guest(tenant, **fields):
    return GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory(), **fields)


def _activities(user):
    return list(AuditEvent.objects.filter(target_resources__0__id=str(user.pk)).order_by("activity_date_time", "id")
                .values_list("activity_display_name", flat=True))


def test_block_then_delete_blocks_now_audits_and_records_the_removal_date():
    tenant = TenantFactory()
    admin = admin_of(tenant, Role.USER_ADMINISTRATOR)
    guest = _guest(tenant)
    before = timezone.now()
    services.block_then_delete(actor=Actor.for_user(admin), user=guest, reason="Access review denied",
                               delete_after=timedelta(days=30))
    guest.refresh_from_db()
    assert guest.account_enabled is False and guest.deleted_at is None
    row = ExternalUserLifecycle.objects.get(user=guest)
    assert row.blocked_at >= before and row.reason == "Access review denied"
    assert row.delete_after_at - row.blocked_at == timedelta(days=30)
    assert _activities(guest)[-2:] == ["Update user", "Schedule removal of external user"]


def _token(user) -> None:
    from allauth.idp.oidc.models import Token

    from directory import services as directory_services

    registration, _client_id, _secret = directory_services.app_registration_create(
        actor=Actor.operator(), tenant=user.tenant, display_name="App", delegated_permissions=["User.Read"],
        redirect_uris=["https://app.example/callback"])
    Token.objects.create(type=Token.Type.ACCESS_TOKEN, client=registration.client, user=user.account,
                         hash="h" * 40, expires_at=timezone.now() + timedelta(hours=1))


def test_blocking_ends_the_guests_tokens_for_the_tenants_apps():
    tenant = TenantFactory()
    guest = _guest(tenant)
    _token(guest)
    assert Token.objects.filter(user=guest.account).exists()
    services.block_then_delete(actor=system(), user=guest, reason="r", delete_after=timedelta(days=1))
    assert not Token.objects.filter(user=guest.account).exists()


def test_members_are_not_blocked_by_the_external_user_lifecycle():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    with pytest.raises(ValidationError):
        services.block_then_delete(actor=system(), user=member, reason="r", delete_after=timedelta(days=1))
    member.refresh_from_db()
    assert member.account_enabled and not ExternalUserLifecycle.objects.exists()


def test_a_person_without_the_block_permission_is_refused_and_nothing_is_written():
    tenant = TenantFactory()
    plain = UserFactory(tenant=tenant)
    guest = _guest(tenant)
    with pytest.raises(PermissionDenied):
        services.block_then_delete(actor=Actor.for_user(plain), user=guest, reason="r", delete_after=timedelta(1))
    guest.refresh_from_db()
    assert guest.account_enabled and not ExternalUserLifecycle.objects.exists()


def test_blocking_again_does_not_move_the_scheduled_removal():
    tenant = TenantFactory()
    guest = _guest(tenant)
    services.block_then_delete(actor=system(), user=guest, reason="first", delete_after=timedelta(days=30))
    first = ExternalUserLifecycle.objects.get(user=guest).delete_after_at
    services.block_then_delete(actor=system(), user=guest, reason="second", delete_after=timedelta(days=1))
    row = ExternalUserLifecycle.objects.get(user=guest)
    assert row.delete_after_at == first and row.reason == "first"


def test_the_sweep_removes_blocked_guests_only_when_due_and_only_once():
    tenant = TenantFactory()
    guest, later_guest = _guest(tenant), _guest(tenant)
    services.block_then_delete(actor=system(), user=guest, reason="r", delete_after=timedelta(days=30))
    services.block_then_delete(actor=system(), user=later_guest, reason="r", delete_after=timedelta(days=60))
    assert services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=29)) == 0
    now = timezone.now() + timedelta(days=31)
    assert services.external_users_remove_due(actor=system(), now=now) == 1
    assert services.external_users_remove_due(actor=system(), now=now) == 0
    guest.refresh_from_db()
    later_guest.refresh_from_db()
    assert guest.deleted_at is not None and later_guest.deleted_at is None
    assert ExternalUserLifecycle.objects.get(user=guest).removed_at is not None
    assert _activities(guest)[-1] == "Delete user"
    event = AuditEvent.objects.filter(activity_display_name="Delete user").get()
    assert event.initiated_by["app"]["servicePrincipalName"] == "system"
    assert {"key": "reason", "value": services.lifecycle.REMOVAL_REASON} in event.additional_details


def test_a_guest_restored_by_an_admin_after_removal_is_not_removed_again():
    tenant = TenantFactory()
    guest = _guest(tenant)
    services.block_then_delete(actor=system(), user=guest, reason="r", delete_after=timedelta(0))
    services.external_users_remove_due(actor=system())
    User.objects.filter(pk=guest.pk).update(deleted_at=None)
    assert services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=90)) == 0
    assert User.objects.get(pk=guest.pk).deleted_at is None


def test_a_guest_an_admin_enabled_again_is_not_removed():
    tenant = TenantFactory()
    admin = admin_of(tenant)
    guest = _guest(tenant)
    services.block_then_delete(actor=system(), user=guest, reason="r", delete_after=timedelta(days=1))
    from directory.services import user_update

    user_update(actor=Actor.for_user(admin), user=guest, changes={"account_enabled": True})
    assert services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=2)) == 0
    guest.refresh_from_db()
    assert guest.deleted_at is None and guest.account_enabled
    assert not ExternalUserLifecycle.objects.get(user=guest).is_pending_removal


def test_block_only_never_removes():
    tenant = TenantFactory()
    guest = _guest(tenant)
    services.block_then_delete(actor=system(), user=guest, reason="r", delete_after=None)
    assert services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=3650)) == 0
    guest.refresh_from_db()
    assert not guest.account_enabled and guest.deleted_at is None


def test_unblock_if_pending_gives_sign_in_back_and_cancels_the_removal():
    tenant = TenantFactory()
    guest = _guest(tenant)
    services.block_then_delete(actor=system(), user=guest, reason="r", delete_after=timedelta(days=1))
    assert services.unblock_if_pending(actor=system(), user=guest) is True
    guest.refresh_from_db()
    assert guest.account_enabled
    assert services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=2)) == 0
    assert _activities(guest)[-1] == "Cancel removal of external user"
    assert services.unblock_if_pending(actor=system(), user=guest) is False


def test_unblock_if_pending_leaves_a_guest_an_admin_blocked_alone():
    tenant = TenantFactory()
    admin = admin_of(tenant)
    guest = _guest(tenant)
    from directory.services import user_update

    user_update(actor=Actor.for_user(admin), user=guest, changes={"account_enabled": False})
    assert services.unblock_if_pending(actor=system(), user=guest) is False
    guest.refresh_from_db()
    assert guest.account_enabled is False


def test_only_the_platform_runs_the_removal_sweep():
    tenant = TenantFactory()
    with pytest.raises(PermissionDenied):
        services.external_users_remove_due(actor=Actor.for_user(admin_of(tenant)))


def test_the_guests_sponsors_are_mailed_once_when_blocked_and_once_when_removed():
    from directory.models import OutboxMessage

    tenant = TenantFactory(name="Tailwind Traders")
    sponsor, gone = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    guest = _guest(tenant)
    guest.sponsors.add(sponsor, gone)
    User.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())  # a deleted sponsor is not mailed
    services.block_then_delete(actor=system(), user=guest, reason="Denied in the Q3 guest review",
                               delete_after=timedelta(days=30))
    services.block_then_delete(actor=system(), user=guest, reason="again", delete_after=timedelta(days=30))
    blocked = OutboxMessage.objects.get(subject__contains="can no longer sign in")
    assert blocked.to == [sponsor.mail] and "Denied in the Q3 guest review" in blocked.body_text
    assert "removed from Tailwind Traders on" in blocked.body_text
    services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=31))
    services.external_users_remove_due(actor=system(), now=timezone.now() + timedelta(days=32))
    removed = OutboxMessage.objects.get(subject__contains="was removed from")
    assert removed.to == [sponsor.mail] and "can restore them" in removed.body_text
