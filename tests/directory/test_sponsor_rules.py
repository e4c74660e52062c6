"""The sponsor rules hold on every write path of the directory: user_update, user_create, user_sponsor_add."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from directory import services
from directory.actors import Actor
from directory.models import User
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


def test_user_update_refuses_six_sponsors_a_deleted_one_or_itself_and_changes_nothing():
    tenant = TenantFactory()
    actor = Actor.for_user(admin_of(tenant))
    guest = GuestFactory(tenant=tenant)
    people = UserFactory.create_batch(6, tenant=tenant)
    gone = UserFactory(tenant=tenant, deleted_at=timezone.now())
    for sponsors in (people, [people[0], gone], [guest]):
        with pytest.raises(ValidationError) as refused:
            services.user_update(actor=actor, user=guest, changes={"sponsors": sponsors})
        assert "sponsors" in refused.value.message_dict
    assert not guest.sponsors.exists()
    services.user_update(actor=actor, user=guest, changes={"sponsors": people[:5]})
    assert guest.sponsors.count() == 5


def test_a_deleted_sponsor_does_not_block_adding_a_new_one():
    tenant = TenantFactory()
    actor = Actor.for_user(admin_of(tenant))
    guest = GuestFactory(tenant=tenant)
    old, new = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    guest.sponsors.add(old)
    User.objects.filter(pk=old.pk).update(deleted_at=timezone.now())
    assert services.user_sponsor_add(actor=actor, user=guest, sponsor=new) is True


def test_user_create_refuses_too_many_sponsors():
    tenant = TenantFactory()
    with pytest.raises(ValidationError):
        services.user_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, display_name="Ann",
                             user_principal_name=f"ann@{tenant.initial_domain}",
                             sponsors=UserFactory.create_batch(6, tenant=tenant))
    assert not User.objects.filter(display_name="Ann").exists()
