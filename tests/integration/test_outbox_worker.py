"""The outbox with a real worker: mail is written in the transaction, sent once by the worker, and
resent by the sweep after the mail server was unreachable, never twice."""

import uuid

import pytest
from celery.signals import before_task_publish
from django.core.cache import cache
from django.db import transaction

from directory import queue, services
from directory.models import OutboxMessage
from directory.services.outbox import DRAIN_TASK
from directory.tasks import outbox_deliver_task, outbox_sweep_task
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env():
    # A failed attempt is due again at once, so the sweep in the test can resend it without waiting.
    return {"OUTBOX_RETRY_BASE_SECONDS": "0"}


def _enqueue(subject: str) -> OutboxMessage:
    with transaction.atomic():
        return services.outbox_enqueue(
            to=["ann@proseware.example"], subject=subject, body_text="Your invitation is waiting.",
        )


def _copies(sink, message: OutboxMessage) -> list:
    return [mail for mail in sink.received if mail.message["X-Portal-Message-Id"] == str(message.pk)]


def _status(message: OutboxMessage) -> OutboxMessage:
    message.refresh_from_db()
    return message


def test_committed_message_is_delivered_once_by_the_worker(celery_worker_process, smtp_sink):
    subject = f"Invitation {uuid.uuid4()}"

    message = _enqueue(subject)

    [mail] = smtp_sink.wait_for(1)
    assert mail.subject == subject
    assert mail.rcpt_tos == ["ann@proseware.example"]
    assert "Your invitation is waiting." in mail.message.get_content()
    wait_until(lambda: _status(message).status == OutboxMessage.Status.SENT, timeout=15, what="message marked sent")
    assert message.sent_at is not None

    # The same delivery task again (a duplicate or a redelivery after a crash) sends nothing more.
    duplicates = [outbox_deliver_task.delay(str(message.pk)) for _ in range(2)]
    for duplicate in duplicates:
        celery_worker_process.wait_for_task(duplicate)

    assert len(_copies(smtp_sink, message)) == 1
    assert len(smtp_sink.received) == 1
    assert _status(message).status == OutboxMessage.Status.SENT


@pytest.fixture
def published():
    """Names of the tasks this process publishes to the broker."""
    names = []

    def record(sender=None, **_kwargs):
        names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


def test_a_burst_of_messages_wakes_one_delivery_task_over_one_connection(celery_worker_process, smtp_sink,
                                                                         published):
    """Each message is written in a transaction of its own and wakes delivery after commit; the one task it
    published is still at work (looking again) when the others are written, so they publish nothing."""
    messages = [_enqueue(f"Burst {i} {uuid.uuid4()}") for i in range(10)]

    smtp_sink.wait_for(10)

    assert published == [DRAIN_TASK]
    assert smtp_sink.sessions == 1
    assert all(len(_copies(smtp_sink, message)) == 1 for message in messages)


def test_a_message_after_the_delivery_task_ended_wakes_a_new_one(celery_worker_process, smtp_sink, published):
    first = _enqueue(f"First {uuid.uuid4()}")
    smtp_sink.wait_for(1)
    wait_until(lambda: cache.get(queue.wake_key(DRAIN_TASK)) is None, timeout=15, what="the delivery task ended")

    second = _enqueue(f"Second {uuid.uuid4()}")

    smtp_sink.wait_for(2)
    assert published == [DRAIN_TASK, DRAIN_TASK]
    assert [len(_copies(smtp_sink, m)) for m in (first, second)] == [1, 1]


def test_message_waits_while_smtp_is_down_and_the_sweep_sends_it_once(celery_worker_process, smtp_sink):
    smtp_sink.stop()

    message = _enqueue(f"Reminder {uuid.uuid4()}")

    wait_until(lambda: _status(message).attempts >= 1, timeout=15, what="a delivery attempt")
    assert message.status == OutboxMessage.Status.PENDING
    assert message.last_error
    assert message.sent_at is None

    smtp_sink.start()
    sweeps = [outbox_sweep_task.delay() for _ in range(2)]
    for sweep in sweeps:
        celery_worker_process.wait_for_task(sweep)

    assert len(_copies(smtp_sink, message)) == 1
    assert len(smtp_sink.received) == 1
    message = _status(message)
    assert message.status == OutboxMessage.Status.SENT
    assert message.last_error == ""
