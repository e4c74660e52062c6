"""Entitlement management with a real Celery worker: delivery after the request commits, and the expiry
sweep taking away what the package gave while a membership held directly stays."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from directory.models import AppRoleAssignment
from entitlements import services
from entitlements.models import Assignment
from entitlements.tasks import expiry_sweep_task
from tests.entitlements.scenario import member, tailwind

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_until(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.1)


def test_the_worker_delivers_then_the_sweep_expires_keeping_direct_access(celery_worker_process, smtp_sink):
    s = tailwind()
    policy = s.policy()
    ann, direct = member(s), member(s)
    s.group.members.add(direct)
    for user in (ann, direct):
        with transaction.atomic():
            services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=user)
    _wait_until(lambda: Assignment.objects.filter(state="delivered").count() == 2, what="delivery by the worker")
    assert s.group.members.filter(pk=ann.pk).exists()
    assert AppRoleAssignment.objects.filter(application=s.app, user=ann).exists()

    Assignment.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    celery_worker_process.wait_for_task(expiry_sweep_task.delay())
    assert Assignment.objects.filter(state="expired").count() == 2
    members = set(s.group.members.values_list("pk", flat=True))
    assert direct.pk in members and ann.pk not in members
    ended = [m for m in smtp_sink.wait_for(2) if m.subject == "Access has ended for Campaign collaboration"]
    assert sorted(m.rcpt_tos[0] for m in ended) == sorted([ann.mail, direct.mail])
    assert celery_worker_process.wait_for_task(expiry_sweep_task.delay()) in ("0", 0, None)  # nothing left
