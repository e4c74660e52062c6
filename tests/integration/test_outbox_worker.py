"""The outbox with a real worker: mail is written in the transaction, sent once by the worker, and
resent by the sweep after the mail server was unreachable, never twice."""

import time
import uuid

import pytest
from django.db import transaction

from directory import services
from directory.models import OutboxMessage
from directory.tasks import outbox_deliver_task, outbox_sweep_task

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


def _wait_until(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


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
    _wait_until(lambda: _status(message).status == OutboxMessage.Status.SENT, what="message marked sent")
    assert message.sent_at is not None

    # The same delivery task again (a duplicate or a redelivery after a crash) sends nothing more.
    duplicates = [outbox_deliver_task.delay(str(message.pk)) for _ in range(2)]
    for duplicate in duplicates:
        celery_worker_process.wait_for_task(duplicate)

    assert len(_copies(smtp_sink, message)) == 1
    assert len(smtp_sink.received) == 1
    assert _status(message).status == OutboxMessage.Status.SENT


def test_the_worker_sends_a_burst_of_messages_over_the_connection_it_keeps(celery_worker_process, smtp_sink):
    """One task per message, one SMTP connection for the burst: the worker keeps it between its tasks."""
    messages = [_enqueue(f"Burst {i} {uuid.uuid4()}") for i in range(3)]

    smtp_sink.wait_for(3)

    assert smtp_sink.sessions == 1
    assert all(len(_copies(smtp_sink, message)) == 1 for message in messages)


def test_message_waits_while_smtp_is_down_and_the_sweep_sends_it_once(celery_worker_process, smtp_sink):
    smtp_sink.stop()

    message = _enqueue(f"Reminder {uuid.uuid4()}")

    _wait_until(lambda: _status(message).attempts >= 1, what="a delivery attempt")
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
