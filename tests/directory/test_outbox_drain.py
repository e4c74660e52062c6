"""Mail is published as one "drain" task at a time: writers publish nothing more while one is queued and
not started, and the drain sends every message that is due, each once."""

from datetime import timedelta

import pytest
from celery import current_app
from django.core import mail
from django.utils import timezone

from directory import queue
from directory.models import OutboxMessage
from directory.services import outbox_message
from directory.services.outbox import DRAIN_TASK
from directory.tasks import outbox_drain_task


class _FakeRedis:
    """What publish_unless_queued asks of the broker's Redis: SET NX EX and DEL."""

    def __init__(self):
        self.keys = {}

    def set(self, key, value, nx=False, ex=None):
        if nx and key in self.keys:
            return None
        self.keys[key] = (value, ex)
        return True

    def delete(self, key):
        self.keys.pop(key, None)


@pytest.fixture
def broker(monkeypatch):
    """A Redis broker (faked) and a record of what is published, with tasks not run in-process."""
    redis = _FakeRedis()
    published = []
    monkeypatch.setattr(queue, "_broker_redis", lambda url: redis)
    monkeypatch.setattr(queue, "publish", lambda name, *args, countdown=None: published.append((name, args)) or True)
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        yield redis, published
    finally:
        current_app.conf.task_always_eager = eager


def test_writers_publish_one_drain_while_one_is_queued_and_another_once_it_started(broker):
    redis, published = broker

    for _ in range(3):
        queue.publish_unless_queued(DRAIN_TASK)
    assert len(published) == 1
    [(name, (mark,))] = published
    assert name == DRAIN_TASK and mark in redis.keys
    assert redis.keys[mark][1] == queue.QUEUED_MARK_SECONDS  # a lost task holds writers back for 30 s at most

    queue.queued_task_started(mark)  # the drain started: what is committed from now on may be past it
    queue.publish_unless_queued(DRAIN_TASK)
    assert len(published) == 2


def test_a_drain_the_broker_refused_leaves_no_mark(broker, monkeypatch):
    redis, _published = broker
    monkeypatch.setattr(queue, "publish", lambda name, *args, countdown=None: False)  # the broker is down

    queue.publish_unless_queued(DRAIN_TASK)

    assert redis.keys == {}  # the next writer tries again


def test_without_a_broker_every_writer_publishes(monkeypatch):
    published = []
    monkeypatch.setattr(queue, "publish", lambda name, *args, countdown=None: published.append(name) or True)

    for _ in range(2):
        queue.publish_unless_queued(DRAIN_TASK)  # tasks run in-process in the tests: nothing to coalesce

    assert published == [DRAIN_TASK, DRAIN_TASK]


@pytest.mark.django_db
def test_the_drain_sends_every_due_message_once_and_leaves_the_rest():
    due = OutboxMessage.objects.bulk_create([
        outbox_message(to=[f"reader{i}@partner.example"], subject=f"Due {i}", body_text="Hello.") for i in range(3)])
    later = outbox_message(to=["later@partner.example"], subject="Later", body_text="Hello.")
    later.next_attempt_at = timezone.now() + timedelta(minutes=5)  # backing off after a failure
    later.save(force_insert=True)

    assert outbox_drain_task("") == 3
    assert outbox_drain_task("") == 0

    assert sorted(m.subject for m in mail.outbox) == ["Due 0", "Due 1", "Due 2"]
    assert set(OutboxMessage.objects.filter(pk__in=[m.pk for m in due]).values_list("status", flat=True)) == {"sent"}
    assert OutboxMessage.objects.get(pk=later.pk).status == "pending"


@pytest.mark.django_db
def test_a_written_message_is_published_as_a_drain_after_commit(monkeypatch, django_capture_on_commit_callbacks,
                                                                settings):
    from directory.services import outbox_enqueue

    published = []
    monkeypatch.setattr(queue, "publish",
                        lambda name, *args, countdown=None: published.append((name, countdown)) or True)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_enqueue(to=["ann@partner.example"], subject="Hello", body_text="Hello.")
        assert published == []  # not before the commit

    # It starts a moment later, so that what is written meanwhile goes with it (one task, one connection).
    assert published == [(DRAIN_TASK, settings.OUTBOX_DRAIN_DELAY_SECONDS)]
    assert 0 < settings.OUTBOX_DRAIN_DELAY_SECONDS < queue.QUEUED_MARK_SECONDS


def test_a_worker_task_gets_djangos_connection_rule_and_an_in_process_task_keeps_the_callers(monkeypatch, settings):
    """Celery's fixup would close the database connection around every task; it is told not to, and each
    task run by a worker gets Django's CONN_MAX_AGE rule, as a request does. A task run in-process (inside
    the caller's transaction) leaves the caller's connection alone."""
    import django.db

    from config import celery as celery_config

    closed = []
    monkeypatch.setattr(django.db, "close_old_connections", lambda: closed.append(True))

    class Task:
        class request:
            is_eager = False

    celery_config._database_connections_as_for_a_request(task=Task)
    Task.request.is_eager = True
    celery_config._database_connections_as_for_a_request(task=Task)

    assert closed == [True]
    assert settings.CELERY_DB_REUSE_MAX >= 2**31  # the fixup's own closing never comes
