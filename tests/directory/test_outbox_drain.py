"""One delivery task per burst of e-mail (directory.outbox_drain, woken through directory/queue.py): what it
sends, when it ends, and that no message written while it was at work is left behind."""

import socket
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from directory import delivery, queue, services
from directory.models import OutboxMessage
from directory.services.outbox import DRAIN_TASK

pytestmark = pytest.mark.django_db(transaction=True)


def _write(subject: str = "Hello", **fields) -> OutboxMessage:
    """A committed message whose wake is not run (the test plays the task)."""
    message = services.outbox_message(to=["reader@partner.example"], subject=subject, body_text="Body", **fields)
    message.save(force_insert=True)
    return message


def _subjects(sink) -> list[str]:
    return sorted(mail.subject for mail in sink.received)


def _status(message: OutboxMessage) -> str:
    message.refresh_from_db()
    return message.status


def test_a_message_written_just_before_the_drop_is_sent_by_the_ending_drain(smtp_settings, smtp_sink):
    """A write whose wake found the mark set committed before the task dropped it: the look after the drop
    must find it, or it would wait for the sweep."""
    _write("first")
    late = []

    def drop():
        if not late:
            late.append(_write("written while the mark was set"))

    sent = delivery.outbox_drain(linger=0, poll=0.01, drop=drop)

    assert sent == 2
    assert _subjects(smtp_sink) == ["first", "written while the mark was set"]
    assert _status(late[0]) == OutboxMessage.Status.SENT


def test_the_drain_lingers_and_sends_what_is_written_while_it_waits(smtp_settings, smtp_sink):
    looks = []

    def hold():
        looks.append(time.monotonic())
        if len(looks) == 4:  # the drain found nothing three times, and is still looking
            _write("came during the linger")

    started = time.monotonic()
    sent = delivery.outbox_drain(linger=0.3, poll=0.02, hold=hold, hold_every=0)

    assert sent == 1
    assert _subjects(smtp_sink) == ["came during the linger"]
    assert smtp_sink.sessions == 1
    assert time.monotonic() - started >= 0.3  # then waited its linger out with nothing more to send


def test_a_drain_that_finds_nothing_ends_after_its_linger_having_dropped_its_mark(smtp_settings, smtp_sink):
    events = []

    sent = delivery.outbox_drain(linger=0.1, poll=0.02, hold=lambda: events.append("hold"), hold_every=0,
                                 drop=lambda: events.append("drop"), handover=lambda: events.append("handover"))

    assert sent == 0
    assert events[-1] == "drop"
    assert events.count("drop") == 1 and "handover" not in events
    assert events.count("hold") >= 3
    assert smtp_sink.received == []


def test_the_drain_sets_its_mark_again_only_after_hold_every_or_after_a_drop_that_found_more(smtp_settings,
                                                                                             smtp_sink):
    events = []

    def drop():
        events.append("drop")
        if events.count("drop") == 1:
            _write("written as the mark was dropped")

    sent = delivery.outbox_drain(linger=0.1, poll=0.01, hold=lambda: events.append("hold"), hold_every=60,
                                 drop=drop)

    assert sent == 1
    # Held once for the first linger's many looks, dropped, found the message, held again, dropped at the end.
    assert events == ["hold", "drop", "hold", "drop"]


def test_a_drain_past_its_time_budget_hands_over_to_a_new_task(smtp_settings, smtp_sink):
    for i in range(3):
        _write(f"m{i}")
    events = []

    sent = delivery.outbox_drain(linger=5, poll=0.01, time_budget=0, hold=lambda: events.append("hold"),
                                 drop=lambda: events.append("drop"), handover=lambda: events.append("handover"))

    assert sent == 1  # the budget is checked after each message
    assert events == ["hold", "drop", "handover"]
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 2


def test_an_unreachable_mail_server_ends_the_drain_at_once_leaving_the_rest_to_the_sweep(settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    messages = [_write(f"m{i}") for i in range(3)]
    events = []

    started = time.monotonic()
    sent = delivery.outbox_drain(linger=5, poll=0.01, drop=lambda: events.append("drop"))

    assert sent == 0
    assert time.monotonic() - started < 4  # did not linger
    assert events == ["drop"]
    attempts = [OutboxMessage.objects.get(pk=m.pk).attempts for m in messages]
    assert attempts == [1, 0, 0]  # the first failed (with backoff); the others were not tried


def test_a_message_never_tried_is_due_even_when_written_by_a_clock_ahead_of_the_workers():
    ahead = _write("from a server whose clock is ahead")
    OutboxMessage.objects.filter(pk=ahead.pk).update(next_attempt_at=timezone.now() + timedelta(seconds=30))
    backing_off = _write("failed once")
    OutboxMessage.objects.filter(pk=backing_off.pk).update(attempts=1,
                                                           next_attempt_at=timezone.now() + timedelta(seconds=30))
    retry_due = _write("failed, retry due")
    OutboxMessage.objects.filter(pk=retry_due.pk).update(attempts=2,
                                                         next_attempt_at=timezone.now() - timedelta(seconds=1))

    due = delivery.outbox_due_ids()

    assert set(due) == {str(ahead.pk), str(retry_due.pk)}


def test_wake_does_not_publish_while_a_task_holds_the_mark_and_does_after_it_dropped_it(smtp_settings, smtp_sink):
    # Tests run tasks eagerly: a published drain delivers at once.
    from django.core.cache import cache

    queue.wake_hold(DRAIN_TASK)
    assert cache.get(queue.wake_key(DRAIN_TASK)) is not None
    message = _write("waiting")

    queue.wake(DRAIN_TASK)

    assert _status(message) == OutboxMessage.Status.PENDING  # the task at work would have found it
    queue.wake_drop(DRAIN_TASK)
    queue.wake(DRAIN_TASK)
    assert _status(message) == OutboxMessage.Status.SENT
    assert _subjects(smtp_sink) == ["waiting"]


def test_an_eager_drain_ends_without_lingering_and_leaves_no_mark(smtp_settings, smtp_sink, settings):
    from django.core.cache import cache

    settings.OUTBOX_DRAIN_LINGER_SECONDS = 30

    started = time.monotonic()
    with transaction.atomic():
        services.outbox_enqueue(to=["reader@partner.example"], subject="eager", body_text="Body")
    assert time.monotonic() - started < 10

    assert _subjects(smtp_sink) == ["eager"]
    assert cache.get(queue.wake_key(DRAIN_TASK)) is None  # the next write wakes a task again


def test_the_marks_in_redis_are_the_caches_own_keys_and_add_refuses_a_set_one(settings):
    import os
    import uuid

    from django.core.cache import cache

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs a Redis server: set REDIS_URL")
    settings.CACHES = {"default": {"BACKEND": "directory.unavailable.FailClosedRedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": f"marks-{uuid.uuid4().hex[:8]}"}}
    key = queue.wake_key(DRAIN_TASK)

    assert queue._marks().add(key) is True
    assert cache.get(key) == 1  # what the cache API reads (another process's mark looks the same)
    assert queue._marks().add(key) is False
    queue.wake_drop(DRAIN_TASK)
    assert cache.get(key) is None
    cache.add(key, 1, 30)  # set through the cache's API: the kept client sees it
    assert queue._marks().add(key) is False
    queue.wake_drop(DRAIN_TASK)


def test_a_drain_that_fails_drops_its_mark_so_the_next_message_wakes_a_new_one(monkeypatch):
    from django.core.cache import cache
    from django.db import OperationalError

    from directory.tasks import outbox_drain_task

    def gone(**_kwargs):
        queue.wake_hold(DRAIN_TASK)  # at work, holding the mark, when the database goes away
        raise OperationalError("the database went away")

    monkeypatch.setattr(delivery, "outbox_drain", gone)

    with pytest.raises(OperationalError):
        outbox_drain_task.apply(throw=True)

    assert cache.get(queue.wake_key(DRAIN_TASK)) is None
