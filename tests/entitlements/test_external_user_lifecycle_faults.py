"""The lifecycle sweeps when things go wrong: a sweep that dies mid-batch leaves that batch as it was (the
next run does it whole), and two sweeps at once share the rows without doing one twice (PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from directory.models import AuditEvent, OutboxMessage, User
from entitlements import services
from entitlements.models import ExternalUserLifecycle
from entitlements.services import lifecycle
from tests.factories import GuestFactory, TenantFactory, UserFactory

from .scenario import system


def _governed(tenant, n):
    sponsor = UserFactory(tenant=tenant)
    guests = GuestFactory.create_batch(n, tenant=tenant)
    for guest in guests:
        guest.sponsors.add(sponsor)
    ExternalUserLifecycle.objects.bulk_create(ExternalUserLifecycle(
        user=g, tenant=tenant, governed=True, access_ended_at=timezone.now() - timedelta(minutes=1)) for g in guests)
    return guests


@pytest.mark.django_db(transaction=True)
def test_a_sweep_that_dies_mid_batch_changes_nothing_of_it_and_the_next_run_does_it_whole(monkeypatch):
    tenant = TenantFactory()
    guests = _governed(tenant, 5)
    real = lifecycle.notify_sponsors_many

    def dies(*args, **kwargs):  # the worker is killed after the block, before the mail: the batch rolls back
        raise SystemExit("worker killed")

    monkeypatch.setattr(lifecycle, "notify_sponsors_many", dies)
    with pytest.raises(SystemExit):
        services.external_users_block_due(actor=system(), batch=10)
    assert User.objects.filter(pk__in=[g.pk for g in guests], account_enabled=True).count() == 5
    assert ExternalUserLifecycle.objects.filter(access_ended_at__isnull=False, blocked_at__isnull=True).count() == 5
    assert not AuditEvent.objects.filter(activity_display_name="Schedule removal of external user").exists()

    monkeypatch.setattr(lifecycle, "notify_sponsors_many", real)
    assert services.external_users_block_due(actor=system(), batch=10) == 5
    assert services.external_users_block_due(actor=system(), batch=10) == 0
    assert OutboxMessage.objects.filter(subject__contains="can no longer sign in").count() == 5


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="FOR UPDATE SKIP LOCKED needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_share_the_guests_and_block_each_once():
    tenant = TenantFactory()
    guests = _governed(tenant, 60)
    results, errors = [], []

    def sweep():
        try:
            results.append(services.external_users_block_due(actor=system(), batch=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sum(results) == 60
    assert User.objects.filter(pk__in=[g.pk for g in guests], account_enabled=False).count() == 60
    assert AuditEvent.objects.filter(activity_display_name="Schedule removal of external user").count() == 60
    assert OutboxMessage.objects.filter(subject__contains="can no longer sign in").count() == 60
    assert connection.vendor == "postgresql"
