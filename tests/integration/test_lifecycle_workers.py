"""The external-user lifecycle with a real Celery worker *and* beat: a guest entitlement management brought
in, whose last package assignment expired, is blocked and later removed (the clock moved by the test),
their sponsor mailed each time; a blocked guest who gets a new assignment in time is unblocked."""

import re
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from directory.models import User
from entitlements import services
from entitlements.models import Assignment, ExternalUserLifecycle
from tests.entitlements.scenario import T, tailwind
from tests.support.worker import PROJECT_ROOT, _celery_command

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env():
    return {"ENTITLEMENT_SWEEP_SECONDS": "1"}


@pytest.fixture
def celery_beat(celery_worker_process, tmp_path):
    """``celery beat`` publishing the real schedule to the worker's queue (sweeps every second)."""
    log_path = tmp_path / "celery-beat.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_celery_command(), "-A", "config", "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule"),
             "--pidfile="], cwd=PROJECT_ROOT, env=celery_worker_process.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_until(lambda: re.search(r"beat: Starting", log_path.read_text(errors="replace")), what="beat start")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until(condition, timeout: float = 45.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.2)


def _user(pk) -> User:
    return User.objects.get(pk=pk)


def test_beat_blocks_then_removes_an_expired_em_guest_and_a_new_assignment_unblocks_another(
        celery_worker_process, celery_beat, smtp_sink):
    s = tailwind()
    services.entitlement_settings_update(actor=s.admin_actor, tenant=s.tenant, changes={
        "external_user_lifecycle_action": "blockSignInAndDelete",
        "duration_until_external_user_deleted_after_blocked": timedelta(days=30)})
    policy = s.policy(allowed_target_scope=T.ALL_EXTERNAL_USERS)
    for email in ("pat@proseware.example", "lee@proseware.example"):
        with transaction.atomic():  # the worker delivers after commit: a silent invitation, then the access
            services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, email=email)
    _wait_until(lambda: Assignment.objects.filter(state="delivered").count() == 2, what="delivery by the worker")
    pat = User.objects.get(mail="pat@proseware.example")
    lee = User.objects.get(mail="lee@proseware.example")
    assert list(pat.sponsors.all()) == [s.admin]

    Assignment.objects.update(expires_at=timezone.now() - timedelta(minutes=1))  # the packages' time is up
    _wait_until(lambda: not _user(pat.pk).account_enabled and not _user(lee.pk).account_enabled,
                what="beat's expiry and lifecycle sweeps blocking both guests")
    assert not s.group.members.filter(pk__in=[pat.pk, lee.pk]).exists()
    blocked = smtp_sink.wait_for(2, timeout=30, where=lambda m: "can no longer sign in" in m.subject)
    assert sorted(m.rcpt_tos[0] for m in blocked) == [s.admin.mail, s.admin.mail]

    with transaction.atomic():  # Lee gets access again before the removal
        services.request_admin_add(actor=s.admin_actor, package=s.package, policy=policy, target=lee)
    _wait_until(lambda: _user(lee.pk).account_enabled and s.group.members.filter(pk=lee.pk).exists(),
                what="the new assignment unblocking Lee")

    # The clock moves on for Pat: their removal is due now.
    ExternalUserLifecycle.objects.filter(user=pat).update(delete_after_at=timezone.now() - timedelta(seconds=1))
    _wait_until(lambda: _user(pat.pk).deleted_at is not None, what="beat's removal sweep")
    removed = smtp_sink.wait_for(1, timeout=30, where=lambda m: "was removed from" in m.subject)
    assert removed[0].rcpt_tos == [s.admin.mail] and pat.display_name in removed[0].subject
    time.sleep(2.5)  # more sweeps run: nothing else changes
    lee = _user(lee.pk)
    assert lee.account_enabled and lee.deleted_at is None
    assert len(smtp_sink.wait_for(1, where=lambda m: "was removed from" in m.subject)) == 1
