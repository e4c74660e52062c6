"""Delivering the outbox over real SMTP (an aiosmtpd server on 127.0.0.1): what a worker killed at any
moment leaves behind must agree with what the mail server got (bench/drills/worker_kill.py)."""

import re
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.db import OperationalError, connections
from django.utils import timezone

from directory import delivery, services
from directory.models import OutboxMessage
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)


def _enqueue(n: int = 1, **fields) -> list[OutboxMessage]:
    """Messages in the outbox whose delivery task was not published (the sweep's or the test's job)."""
    messages = []
    for i in range(n):
        message = services.outbox_message(**{"to": [f"reader{i}@partner.example"], "subject": f"Hello {i}",
                                             "body_text": "Body", **fields})
        message.save(force_insert=True)
        messages.append(message)
    return messages


class _Server:
    """An SMTP server whose answer to the end of the DATA is decided by ``answer(envelope)``."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.sessions = 0
        self.quits = 0
        self.data = []  # the X-Portal-Message-Id of every DATA that ended

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        headers = envelope.content.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        self.data += re.findall(r"(?mi)^X-Portal-Message-Id: (\S+)", headers)
        return self.answer(envelope)

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"


@pytest.fixture
def server(settings):
    """start(answer) → an aiosmtpd server on a free port that the e-mail settings point at."""
    controllers = []

    def start(answer, handler_class=_Server, **smtp_parameters) -> _Server:
        handler = handler_class(answer)
        sink = SmtpSink()  # only for its free port
        controller = Controller(handler, hostname="127.0.0.1", port=sink.port, ready_timeout=10, **smtp_parameters)
        controller.start()
        controllers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", sink.port, 10
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def _status_seen_by_another_connection(message_id, timeout: float) -> str | None:
    """The message's committed status as another database connection sees it, once it is 'sent'."""
    deadline = time.monotonic() + timeout
    status = None
    try:
        while time.monotonic() < deadline:
            try:
                status = OutboxMessage.objects.values_list("status", flat=True).get(pk=message_id)
            except OperationalError:  # SQLite: the table is locked by the sender's open transaction
                status = None
            if status == OutboxMessage.Status.SENT:
                return status
            time.sleep(0.02)
        return status
    finally:
        connections.close_all()  # this thread's connections


def test_the_message_is_marked_sent_before_the_server_answers_the_end_of_its_data(server):
    """A worker killed after the server got the message but before reading its answer finds the message
    marked sent: nothing is sent twice. (Before, the mark was committed only after the answer.)"""
    [message] = _enqueue()
    seen = {}

    def answer(envelope):
        # Runs in the server's thread when the final "." arrived; the sender waits for this answer.
        thread = threading.Thread(target=lambda: seen.update(
            status=_status_seen_by_another_connection(message.pk, timeout=3)))
        thread.start()
        thread.join()
        return "250 OK"

    server(answer)
    assert delivery.outbox_deliver(message_id=message.pk) is True
    assert seen["status"] == OutboxMessage.Status.SENT


def test_a_message_refused_at_the_end_of_its_data_stays_pending_with_its_secret(server):
    handler = server(lambda envelope: "554 5.7.1 Message rejected as spam")
    [message] = _enqueue(subject="Your link", body_text="Open https://portal.example/i/s3cret-token/",
                         secrets=["s3cret-token"])

    assert delivery.outbox_deliver(message_id=message.pk) is False

    message.refresh_from_db()
    assert handler.sessions == 1
    assert message.status == OutboxMessage.Status.PENDING and message.sent_at is None
    assert message.attempts == 1 and "554" in message.last_error
    assert "s3cret-token" in message.body_text and message.secrets == ["s3cret-token"]  # what the retry sends
    assert message.next_attempt_at > timezone.now()


def test_every_copy_of_a_message_carries_the_same_message_id(smtp_settings, smtp_sink):
    """A copy sent again (the rare kill between the server's acceptance and our commit) is recognisable
    by its Message-ID, which is derived from the outbox row instead of being new for every send."""
    [message] = _enqueue()
    assert delivery.outbox_deliver(message_id=message.pk) is True
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.PENDING)  # as after that kill
    assert delivery.outbox_deliver(message_id=message.pk) is True

    first, second = smtp_sink.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == f"<{message.pk}@portal.localhost>"


def test_a_batch_is_sent_over_one_smtp_connection(server):
    handler = server(lambda envelope: "250 OK")
    messages = _enqueue(5)

    assert delivery.outbox_deliver_many(message_ids=[m.pk for m in messages]) == 5

    assert handler.sessions == 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxMessage.Status.SENT}


def test_a_batch_stops_at_an_unreachable_mail_server_and_leaves_the_rest_to_the_sweep(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    first, *rest = _enqueue(4)

    assert delivery.outbox_deliver_many(message_ids=[first.pk, *(m.pk for m in rest)]) == 0

    first.refresh_from_db()
    assert first.attempts == 1 and first.last_error
    assert [m.attempts for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in rest])] == [0, 0, 0]
    assert {str(m.pk) for m in rest} <= set(delivery.outbox_due_ids())


def test_the_sweep_sends_everything_due_batch_after_batch(smtp_settings, smtp_sink):
    _enqueue(5)

    assert delivery.outbox_sweep(batch=2) == 5

    assert len(smtp_sink.wait_for(5)) == 5
    assert not delivery.outbox_due_ids()


def test_two_sweeps_at_once_send_each_message_once(smtp_settings, smtp_sink):
    """Beat run twice: both sweeps find the same due messages; the row locks give each to one of them."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks (SQLite locks whole tables): set DATABASE_URL=postgres://…")
    messages = _enqueue(30)
    totals = []

    def sweep():
        try:
            totals.append(delivery.outbox_sweep(batch=10))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(totals) == 30
    ids = [str(mail.message["X-Portal-Message-Id"]) for mail in smtp_sink.wait_for(30)]
    assert sorted(ids) == sorted(str(m.pk) for m in messages)


# --- the connection a worker keeps between its tasks (delivery.kept_mailer)


@pytest.fixture
def kept(settings):
    """A worker process's kept connection, closed again after the test."""
    settings.OUTBOX_SMTP_KEEP_SECONDS = 30
    delivery.kept_mailer_close()
    yield
    delivery.kept_mailer_close()


def _wait_for(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_worker_sends_one_message_per_task_over_the_connection_it_kept(server, kept):
    handler = server(lambda envelope: "250 OK")
    messages = _enqueue(3)

    assert [delivery.outbox_deliver(message_id=m.pk, keep_connection=True) for m in messages] == [True] * 3

    assert handler.sessions == 1 and handler.quits == 0
    assert handler.data == [str(m.pk) for m in messages]


def test_without_keeping_each_task_opens_and_quits_its_own_connection(server, settings):
    settings.OUTBOX_SMTP_KEEP_SECONDS = 0
    handler = server(lambda envelope: "250 OK")
    messages = _enqueue(2)

    assert [delivery.outbox_deliver(message_id=m.pk, keep_connection=True) for m in messages] == [True] * 2

    assert handler.sessions == 2
    assert _wait_for(lambda: handler.quits == 2)


def test_a_kept_connection_the_server_timed_out_is_replaced_and_the_message_sent_once(server, kept):
    """The server's idle timeout closed the kept connection: noticed before the next message, which goes out
    once over a new connection, without a failed attempt."""
    handler = server(lambda envelope: "250 OK", timeout=0.3)
    first, second = _enqueue(2)
    assert delivery.outbox_deliver(message_id=first.pk, keep_connection=True) is True
    time.sleep(0.8)  # past the server's idle timeout

    assert delivery.outbox_deliver(message_id=second.pk, keep_connection=True) is True

    second.refresh_from_db()
    assert handler.sessions == 2
    assert handler.data == [str(first.pk), str(second.pk)]
    assert second.status == OutboxMessage.Status.SENT and second.attempts == 1 and second.last_error == ""


def test_a_kept_connection_that_dies_before_the_data_is_retried_once_on_a_new_one(server, kept, monkeypatch):
    """The server hung up after the check (a race the check cannot see): the MAIL command fails on the dead
    connection, before any of the DATA was written, and the message is sent once over a new connection."""
    handler = server(lambda envelope: "250 OK", timeout=0.3)
    first, second = _enqueue(2)
    assert delivery.outbox_deliver(message_id=first.pk, keep_connection=True) is True
    time.sleep(0.8)
    monkeypatch.setattr(delivery, "_closed_by_server", lambda connection: False)

    assert delivery.outbox_deliver(message_id=second.pk, keep_connection=True) is True

    second.refresh_from_db()
    assert handler.sessions == 2
    assert handler.data == [str(first.pk), str(second.pk)]
    assert second.status == OutboxMessage.Status.SENT and second.attempts == 1 and second.last_error == ""


class _RefusingServer(_Server):
    """Refuses recipients at refused.example, counting how often it was asked."""

    refusals = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            self.refusals += 1
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refusal_on_a_kept_connection_is_not_retried_at_once(server, kept):
    """Only a dead connection is worth a second try; a refusal is the message's failure, retried with backoff."""
    handler = server(lambda envelope: "250 OK", handler_class=_RefusingServer)
    [first] = _enqueue()
    [refused] = _enqueue(to=["nobody@refused.example"])
    assert delivery.outbox_deliver(message_id=first.pk, keep_connection=True) is True

    assert delivery.outbox_deliver(message_id=refused.pk, keep_connection=True) is False

    refused.refresh_from_db()
    assert handler.refusals == 1
    assert refused.status == OutboxMessage.Status.PENDING and refused.attempts == 1 and "550" in refused.last_error


def test_the_kept_connection_is_closed_after_its_idle_time(server, kept, settings):
    settings.OUTBOX_SMTP_KEEP_SECONDS = 0.5
    handler = server(lambda envelope: "250 OK")
    [message] = _enqueue()
    assert delivery.outbox_deliver(message_id=message.pk, keep_connection=True) is True
    assert handler.quits == 0

    assert _wait_for(lambda: handler.quits == 1, timeout=5)
    assert handler.sessions == 1


def test_a_worker_shutting_down_closes_its_kept_connection(server, kept):
    from celery.signals import worker_process_shutdown

    import directory.tasks  # noqa: F401  (connects the handler, as a worker's start-up does)

    handler = server(lambda envelope: "250 OK")
    [message] = _enqueue()
    assert delivery.outbox_deliver(message_id=message.pk, keep_connection=True) is True

    worker_process_shutdown.send(sender=None, pid=0, exitcode=0)

    assert _wait_for(lambda: handler.quits == 1)


def test_a_kept_connection_follows_the_mail_settings(server, kept):
    """A kept connection is to the server the settings name now (they changed: tests, a reconfigured
    process), never to the one they named when it was opened."""
    old, new = server(lambda envelope: "250 OK"), None
    first, second = _enqueue(2)
    assert delivery.outbox_deliver(message_id=first.pk, keep_connection=True) is True
    new = server(lambda envelope: "250 OK")

    assert delivery.outbox_deliver(message_id=second.pk, keep_connection=True) is True

    assert old.data == [str(first.pk)] and new.data == [str(second.pk)]
