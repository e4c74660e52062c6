"""A user removed for good frees its address: the account it signed in with goes with its last user
object (permanent delete and the 30-day purge alike), unless something else still needs the account."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.idp.oidc.models import Client
from django.contrib.auth.models import Group as PermissionGroup
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory import services
from directory.actors import Actor
from directory.models import Account, AuditEvent, DeletedObject, User
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "A-long-passphrase-1"


def member_with_password(tenant, name="ann") -> User:
    return services.user_create(actor=Actor.operator(), tenant=tenant, display_name=name.title(),
                                user_principal_name=f"{name}@{tenant.initial_domain}", password=PASSWORD)


def delete_for_good(user: User) -> None:
    services.user_delete(actor=Actor.operator(), user=user)
    services.user_delete_permanently(actor=Actor.operator(), user=user)


def test_a_member_deleted_for_good_can_be_created_again_with_a_password():
    tenant = TenantFactory()
    ann = member_with_password(tenant)
    delete_for_good(ann)
    again = member_with_password(tenant)
    assert again.account_id != ann.account_id
    assert again.account.check_password(PASSWORD)


def test_the_account_goes_with_its_addresses_and_mfa_devices_and_the_removal_is_audited():
    tenant = TenantFactory()
    ann = member_with_password(tenant)
    account = ann.account
    TOTPDevice.objects.create(user=account, name="phone")
    delete_for_good(ann)
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not EmailAddress.objects.filter(email__iexact=account.email).exists()
    assert not TOTPDevice.objects.filter(user_id=account.pk).exists()
    event = AuditEvent.objects.get(activity_display_name="Hard delete user")
    assert event.target_resources[0]["modifiedProperties"] == [
        {"displayName": "account", "oldValue": f'"{account.email}"', "newValue": None}]


def _shared_account(user: User, *, deleted: bool) -> User:
    return UserFactory(tenant=TenantFactory(), account=user.account, user_type=User.UserType.GUEST,
                       mail=user.account.email, deleted_at=timezone.now() if deleted else None)


@pytest.mark.parametrize("deleted", [False, True], ids=["active", "soft-deleted"])
def test_an_account_another_tenants_user_object_still_uses_is_kept(deleted):
    ann = member_with_password(TenantFactory())
    _shared_account(ann, deleted=deleted)
    delete_for_good(ann)
    assert Account.objects.filter(pk=ann.account_id).exists()
    event = AuditEvent.objects.get(activity_display_name="Hard delete user")
    assert event.target_resources[0]["modifiedProperties"] == []


@pytest.mark.parametrize("need", ["staff", "superuser", "console group", "oauth client"])
def test_an_account_the_platform_still_needs_is_kept(need):
    ann = member_with_password(TenantFactory())
    account = ann.account
    if need == "staff":
        Account.objects.filter(pk=account.pk).update(is_staff=True)
    elif need == "superuser":
        Account.objects.filter(pk=account.pk).update(is_superuser=True)
    elif need == "console group":
        account.groups.add(PermissionGroup.objects.create(name="Operators"))
    else:
        Client.objects.create(name="Owned app", owner=account)
    delete_for_good(ann)
    assert not User.objects.filter(pk=ann.pk).exists()
    assert Account.objects.filter(pk=account.pk).exists()


def test_the_purge_sweep_follows_the_same_rule_and_records_tombstones():
    tenant = TenantFactory()
    gone, shared = member_with_password(tenant, "gone"), member_with_password(tenant, "shared")
    _shared_account(shared, deleted=False)
    for user in (gone, shared):
        services.user_delete(actor=Actor.operator(), user=user)
    User.objects.filter(pk__in=[gone.pk, shared.pk]).update(deleted_at=timezone.now() - timedelta(days=31))

    assert services.users_purge_deleted(actor=Actor.system(None, "test")) == 2

    assert not Account.objects.filter(pk=gone.account_id).exists()
    assert Account.objects.filter(pk=shared.account_id).exists()
    assert set(DeletedObject.objects.filter(tenant=tenant, object_type="user").values_list("object_id", flat=True)) \
        == {gone.pk, shared.pk}
    member_with_password(tenant, "gone")  # the address is free again
    with pytest.raises(ValidationError):
        member_with_password(tenant, "shared")  # still someone's sign-in


def test_a_permanent_delete_records_a_tombstone_for_delta():
    ann = member_with_password(TenantFactory())
    delete_for_good(ann)
    assert DeletedObject.objects.filter(tenant=ann.tenant_id, object_type="user", object_id=ann.pk).exists()
