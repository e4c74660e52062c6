"""The worker side of the outbox: send a message exactly once, find what is due.

Services write messages (:mod:`directory.services.outbox`); tasks call these. Neither imports the other.

How "exactly once" holds when a worker dies (bench/drills/worker_kill.py): a message is sent in a
transaction that holds its row lock and has already marked it sent. The SMTP conversation is written up
to the end of the DATA (the final "."), then the transaction commits, and only then is the server's
answer read. A worker killed before the final "." leaves an unfinished DATA, which the server discards,
and an open transaction, which PostgreSQL rolls back: the message is still pending and is sent again.
One killed after the COMMIT left has told both sides, which finish without it: the message is sent and
marked sent. Only the instant between the two writes (microseconds) remains; a message sent twice
through it carries the same ``Message-ID`` (derived from the outbox row), which mail systems recognise.
If the server then refuses the message, the mark is undone and the message retried like any failure.
If instead the database goes away before the COMMIT (PostgreSQL restarting), the worker reads the
server's answer and, when the message went out, records it as soon as the database is back
(bench/drills/postgres_restart.py).
"""

import contextlib
import logging
import re
import smtplib
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import DatabaseError, transaction
from django.utils import timezone

from .compiled import CompiledQuery
from .mime import outbox_mime
from .models import OutboxMessage
from .redaction import redact

logger = logging.getLogger(__name__)


def message_id_header(message: OutboxMessage) -> str:
    """The ``Message-ID`` of every copy of ``message``: stable, so a resend is recognisable as the same."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "portal.localhost"
    return f"<{message.pk}@{domain}>"


class _Mailer:
    """One mail connection for a batch of messages, opened on first use and again after a failure.

    With the SMTP backend a message is sent in two steps: :meth:`start` writes everything up to and
    including the end of the DATA, :meth:`finish` reads the server's answer. The caller commits its
    transaction between the two, so that a worker killed at any instant leaves the database and the
    mail server agreeing on whether the message went out (but for the microseconds between the two
    writes). Other backends (tests, console) send in :meth:`start`.
    """

    def __init__(self) -> None:
        self.connection = None
        self._awaiting_reply = False

    def _open(self):
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        return self.connection

    @property
    def smtp(self) -> smtplib.SMTP | None:
        """The open smtplib connection when the backend is Django's SMTP backend, else None."""
        connection = self._open()
        return connection.connection if isinstance(connection, SmtpBackend) else None

    def start(self, email: EmailMultiAlternatives) -> None:
        try:
            smtp = self.smtp
            if smtp is None:
                if not self.connection.send_messages([email]):
                    raise RuntimeError("the mail backend sent nothing")
                return
            _write_until_end_of_data(smtp, email)
            self._awaiting_reply = True
        except Exception:
            self.close()  # the connection may be half-way through a conversation: never reuse it
            raise

    def finish(self) -> None:
        """The server's answer to the end of the DATA: raises unless it accepted the message."""
        if not self._awaiting_reply:
            return
        self._awaiting_reply = False
        try:
            code, reply = self.connection.connection.getreply()
        except Exception:
            self.close()
            raise
        if code != 250:
            self.close()
            raise smtplib.SMTPDataError(code, reply)

    def close(self) -> None:
        self._awaiting_reply = False
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                connection.close()
            except Exception:  # closing a broken connection: nothing to save
                logger.debug("Closing the mail connection failed", exc_info=True)

    def __enter__(self) -> "_Mailer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _write_until_end_of_data(smtp: smtplib.SMTP, email: EmailMultiAlternatives) -> None:
    """What ``smtplib.SMTP.sendmail`` does (as Django's SMTP backend calls it), up to writing the final
    ``.``; the answer to it is left unread."""
    from_email, recipients, data = outbox_mime(email)  # Django's bytes, built without its generator
    smtp.ehlo_or_helo_if_needed()
    options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, reply = smtp.mail(from_email, options)
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, from_email)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    quoted = re.sub(rb"(?m)^\.", b"..", data)  # as smtplib quotes lines that start with a period
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    smtp.send(quoted + b".\r\n")


def _email(message: OutboxMessage) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text, from_email=message.from_email, to=message.to,
        cc=message.cc, headers={"X-Portal-Message-Id": str(message.pk), "Message-ID": message_id_header(message)},
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    return email


SENT, SKIPPED, FAILED = "sent", "skipped", "failed"
_UNSENT_FIELDS = ("subject", "body_text", "body_html", "secrets", "attempts", "last_attempt_at", "last_error")


def _locked_pending(message_id) -> OutboxMessage | None:
    # skip_locked: a message another worker is sending right now is that worker's.
    found = _locked_pending_compiled.run("pending", message=message_id)
    return found[0] if found else None


#: Compiled once per process (directory/compiled.py): every message a worker sends starts with it.
_locked_pending_compiled = CompiledQuery(lambda key, *, message: (
    OutboxMessage.objects.select_for_update(of=("self",), skip_locked=True).select_related("shared_body")
    .filter(pk=message, status=OutboxMessage.Status.PENDING).order_by("pk")[:1]))


def _deliver(message_id, mailer: _Mailer) -> str:
    if transaction.get_connection().in_atomic_block:
        return _deliver_in_callers_transaction(message_id, mailer)
    failure = commit_error = None
    transaction.set_autocommit(False)
    try:
        message = _locked_pending(message_id)
        if message is None:  # sent already, given up, or being sent by another worker right now
            transaction.rollback()
            return SKIPPED
        now = timezone.now()
        email = _email(message)
        unsent = {name: getattr(message, name) for name in _UNSENT_FIELDS}
        _mark_sent(message, now)
        try:
            mailer.start(email)
        except Exception as exc:
            failure = exc
            transaction.rollback()
        else:
            try:
                transaction.commit()  # right after the end of the DATA left, before the server's answer is read
            except DatabaseError as exc:  # the database went away (restarting) with the mark uncommitted
                commit_error = exc
    except BaseException:
        with contextlib.suppress(Exception):
            transaction.rollback()
        raise
    finally:
        try:
            transaction.set_autocommit(True)
        except DatabaseError:
            transaction.get_connection().close()  # a dead connection: the next query opens a new one
    if commit_error is not None:
        return _after_lost_commit(message, mailer, commit_error)
    if failure is None:
        try:
            mailer.finish()
        except Exception as exc:
            # Refused at the end of the DATA (or no answer came): it is not sent after all.
            OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.PENDING, sent_at=None,
                                                               **unsent)
            failure = exc
    if failure is not None:
        _record_failure(message.pk, now, failure)
        return FAILED
    return SENT


# How long a worker keeps trying to record a message the server accepted while the database was away.
RECORD_AFTER_OUTAGE_SECONDS = 60


def _after_lost_commit(message: OutboxMessage, mailer: _Mailer, error: Exception) -> str:
    """The database went away between the end of the DATA and the COMMIT (PostgreSQL restarting). The
    server's answer says whether the message went out; if it did, record that as soon as the database
    is back, before a sweep finds the message pending and sends it again."""
    try:
        mailer.finish()
    except Exception:
        logger.warning("Outbox message %s: neither sent nor recorded (%s); it stays pending", message.pk, error)
        raise error from None
    fields = {name: getattr(message, name) for name in (
        "status", "sent_at", "attempts", "last_attempt_at", "last_error", "subject", "body_text", "body_html",
        "secrets")}
    deadline = time.monotonic() + RECORD_AFTER_OUTAGE_SECONDS
    while True:
        try:
            OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING).update(**fields)
            logger.info("Outbox message %s was sent while the database was away; recorded now", message.pk)
            return SENT
        except DatabaseError:
            transaction.get_connection().close()
            if time.monotonic() > deadline:
                logger.error("Outbox message %s was sent but cannot be recorded: a sweep may send it again",
                             message.pk)
                raise
            time.sleep(0.25)


def _deliver_in_callers_transaction(message_id, mailer: _Mailer) -> str:
    """Inside a transaction of the caller's (tests, eager tasks) nothing can commit early: mark, send,
    and leave the commit to the caller."""
    with transaction.atomic():
        message = _locked_pending(message_id)
        if message is None:
            return SKIPPED
        now = timezone.now()
        email = _email(message)
        try:
            with transaction.atomic():
                _mark_sent(message, now)
                mailer.start(email)
                mailer.finish()
        except Exception as exc:
            _record_failure(message.pk, now, exc)
            return FAILED
        return SENT


def _record_failure(message_id, now, exc: Exception) -> None:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        message.attempts += 1
        message.last_attempt_at = now
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        backoff = settings.OUTBOX_RETRY_BASE_SECONDS * (2 ** min(message.attempts - 1, 8))
        message.next_attempt_at = now + timedelta(seconds=backoff)
        if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            message.status = OutboxMessage.Status.FAILED
        message.save(update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at", "status"])
    logger.warning("Outbox message %s not delivered: %s", message_id, message.last_error)


def _mark_sent(message: OutboxMessage, now) -> None:
    message.attempts += 1
    message.last_attempt_at = now
    message.status = OutboxMessage.Status.SENT
    message.sent_at = now
    message.last_error = ""
    # Delivered: the stored copy no longer needs the secrets it carried (links, codes).
    message.subject = redact(message.subject, message.secrets)
    message.body_text = redact(message.body_text, message.secrets)
    message.body_html = redact(message.body_html, message.secrets)
    message.secrets = []
    message.save(update_fields=["attempts", "last_attempt_at", "last_error", "status", "sent_at", "subject",
                                "body_text", "body_html", "secrets"])


def outbox_deliver(*, message_id: uuid.UUID | str) -> bool:
    """Send one message unless it was sent already. Returns True when this call sent it.

    The row stays locked while it is sent, so a duplicated or retried task skips it and then finds it
    sent: a message is never sent twice by us.
    """
    return outbox_deliver_many(message_ids=[message_id]) == 1


def outbox_deliver_many(*, message_ids: Iterable, time_budget: float | None = None) -> int:
    """Send each message that is still pending, over one SMTP connection; returns how many this call sent.

    A message that fails keeps its place in the outbox with a backoff (the sweep retries it). When the
    mail server cannot be reached at all, the rest of the batch is left for the sweep instead of each
    waiting for its own connection timeout. With ``time_budget`` (seconds) it stops after the message
    that exceeds it; the rest stay pending for the sweep.
    """
    started = time.monotonic()
    sent = 0
    with _Mailer() as mailer:
        for message_id in message_ids:
            outcome = _deliver(message_id, mailer)
            sent += outcome == SENT
            if outcome == FAILED and _unreachable(mailer):
                logger.warning("Mail server unreachable: the rest of the batch waits for the outbox sweep")
                break
            if time_budget is not None and time.monotonic() - started > time_budget:
                break
    return sent


def _unreachable(mailer: _Mailer) -> bool:
    """After a failure: can a new connection be opened? (It is kept for the next message.)"""
    try:
        mailer.connection = get_connection(fail_silently=False)
        mailer.connection.open()
    except Exception:
        mailer.connection = None
        return True
    return False


def outbox_due_ids(*, now=None, limit: int = 500) -> list[str]:
    """Ids of pending messages whose next attempt is due."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def outbox_sweep(*, time_budget: float = 300.0, batch: int = 500) -> int:
    """Deliver what is pending and due, batch after batch, until nothing due is left that this sweep
    can send (the rest is locked by another worker, or failing) or ``time_budget`` seconds passed. A batch
    shorter than ``batch`` was everything due when it was read: the sweep ends there (what was written since
    published its own task; what fell due since waits for the next sweep)."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < time_budget:
        due = outbox_due_ids(limit=batch)
        if not due:
            break
        sent_now = outbox_deliver_many(message_ids=due, time_budget=time_budget - (time.monotonic() - started))
        sent += sent_now
        if sent_now == 0 or len(due) < batch:  # a short batch was all that was due: no second look
            break
    return sent
