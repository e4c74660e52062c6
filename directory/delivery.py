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

A worker keeps its SMTP connection between tasks (:func:`kept_mailer`): one published task per message
stays (a lost broker loses nothing the sweep cannot find), but a burst of them goes over one connection
instead of a connect, EHLO and QUIT each (the mail server's CPU per message about halves:
bench/README.md). A kept connection the server closed while it waited is replaced before the next message.
One that dies under a message before the end of its DATA is replaced and the message written again, once:
``_write_until_end_of_data`` raising means its last write, the one that ends the DATA, did not complete, so
the server discarded what it got. Nothing read after that end (``finish``) is ever retried.
"""

import contextlib
import logging
import os
import re
import select
import smtplib
import threading
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
        # True while the open connection has not carried a message yet (opened for this one).
        self._fresh = False
        self._reused = False

    def _open(self):
        if self.connection is not None and not self._fresh and _closed_by_server(self.connection):
            self.close()  # the server hung up while the connection waited (its idle timeout, a restart)
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
            self._fresh = True
        return self.connection

    @property
    def smtp(self) -> smtplib.SMTP | None:
        """The open smtplib connection when the backend is Django's SMTP backend, else None."""
        connection = self._open()
        return connection.connection if isinstance(connection, SmtpBackend) else None

    def start(self, email: EmailMultiAlternatives) -> None:
        try:
            self._start(email)
        except OSError as exc:
            # Only a connection that turned out dead; a refusal (SMTPResponseException, itself an OSError)
            # is the message's failure, retried with backoff.
            if not self._reused or (isinstance(exc, smtplib.SMTPException)
                                    and not isinstance(exc, smtplib.SMTPServerDisconnected)):
                raise
            # A connection kept from an earlier message died before this one's DATA ended: when
            # _write_until_end_of_data raises, its final write (the end of the DATA) did not complete, so
            # the server discards what it got and nothing can go out twice. Once, on a new connection.
            logger.info("The kept mail connection was closed (%s); sending on a new one", exc)
            self._start(email)

    def _start(self, email: EmailMultiAlternatives) -> None:
        self._reused = False
        try:
            smtp = self.smtp
            self._reused, self._fresh = not self._fresh, False
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
        self._fresh = False
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


def _closed_by_server(connection) -> bool:
    """Whether a kept SMTP connection, idle between two messages, was closed by the server. An idle
    client's socket has nothing to read: readable means the server hung up (end of file) or said so
    (``421``). A check without a round trip, so a kept connection costs the server nothing per message."""
    smtp = connection.connection if isinstance(connection, SmtpBackend) else None
    sock = getattr(smtp, "sock", None)
    if smtp is None:
        return False
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed under us
        return True
    return bool(readable)


class _KeptMailer(_Mailer):
    """The mailer a worker process keeps between its tasks, so that a burst of messages, one task each,
    goes over one SMTP connection instead of one connection (connect, EHLO, QUIT) per message.

    Closed when it was idle for ``OUTBOX_SMTP_KEEP_SECONDS`` (by a timer thread of the process) and when the
    worker shuts down (directory/tasks.py); a connection the server closed meanwhile is noticed before the
    next message and replaced (:func:`_closed_by_server`, :meth:`_Mailer.start`). Reopened when the e-mail
    settings change (tests). One caller at a time: :func:`kept_mailer` gives a busy one's caller a mailer of
    its own.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.used_at = time.monotonic()
        self.keep_seconds = 0.0
        self._settings_key = None
        self._reaper: threading.Thread | None = None
        self._wake = threading.Event()

    def _open(self):
        key = _email_settings_key()
        if key != self._settings_key:
            self.close()
            self._settings_key = key
        return super()._open()

    def __enter__(self) -> "_KeptMailer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.used_at = time.monotonic()
        if exc_info[0] is not None or self.keep_seconds <= 0:
            self.close()
        else:
            self._start_reaper()
        self.lock.release()

    def _start_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap, name="outbox-smtp-idle", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        while not self._wake.wait(max(0.5, min(self.keep_seconds, 30.0) / 2)):
            if self.connection is None or not self.lock.acquire(blocking=False):
                continue
            try:
                if self.connection is not None and time.monotonic() - self.used_at >= self.keep_seconds:
                    logger.debug("Closing the mail connection kept for %.0f s unused", self.keep_seconds)
                    self.close()
            finally:
                self.lock.release()


def _email_settings_key() -> tuple:
    return tuple(getattr(settings, name, None) for name in (
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
        "EMAIL_USE_SSL"))


_kept: _KeptMailer | None = None
_kept_guard = threading.Lock()


def kept_mailer() -> _Mailer:
    """This process's kept mailer, locked for the caller until its ``with`` block ends; a new one-off
    mailer when another thread of the process is using it (or keeping is off: ``OUTBOX_SMTP_KEEP_SECONDS=0``)."""
    global _kept
    keep_seconds = float(getattr(settings, "OUTBOX_SMTP_KEEP_SECONDS", 0))
    if keep_seconds <= 0:
        return _Mailer()
    with _kept_guard:
        if _kept is None or _kept.pid != os.getpid():
            # After a fork the parent's socket is the parent's: forget it without a QUIT on it.
            _kept = _KeptMailer()
        mailer = _kept
    if not mailer.lock.acquire(blocking=False):
        return _Mailer()
    mailer.keep_seconds = keep_seconds
    return mailer


def kept_mailer_close() -> None:
    """Close this process's kept mail connection (worker shutdown)."""
    global _kept
    with _kept_guard:
        mailer, _kept = _kept, None
    if mailer is None or mailer.pid != os.getpid():
        return
    mailer._wake.set()  # its idle timer ends
    if mailer.lock.acquire(timeout=5):  # else a task still holds it; the process's exit closes the socket
        try:
            mailer.close()
        finally:
            mailer.lock.release()


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
    _update_columns(message, _MARKED_SENT)


_MARKED_SENT = ("attempts", "last_attempt_at", "last_error", "status", "sent_at", "subject", "body_text", "body_html",
                "secrets")
_update_sql: dict = {}


def _update_columns(message: OutboxMessage, names: tuple[str, ...]) -> None:
    """``message.save(update_fields=names)`` without building and compiling an UPDATE query each time (nearly half
    of a worker's CPU per message went there). OutboxMessage has no save signals or auto-updated fields."""
    connection = transaction.get_connection()
    meta = OutboxMessage._meta
    fields = [meta.get_field(name) for name in names]
    sql = _update_sql.get((connection.vendor, names))
    if sql is None:
        quote = connection.ops.quote_name
        # identifiers from the model's meta, quoted; every value is a parameter
        sql = _update_sql[(connection.vendor, names)] = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "  # noqa: S608
            f"WHERE {quote(meta.pk.column)} = %s")
    params = [field.get_db_prep_save(getattr(message, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, meta.pk.get_db_prep_value(message.pk, connection)])


def outbox_deliver(*, message_id: uuid.UUID | str, keep_connection: bool = False) -> bool:
    """Send one message unless it was sent already. Returns True when this call sent it.

    The row stays locked while it is sent, so a duplicated or retried task skips it and then finds it
    sent: a message is never sent twice by us. With ``keep_connection`` (workers) the SMTP connection is
    the process's kept one (:func:`kept_mailer`), left open for the next message.
    """
    return outbox_deliver_many(message_ids=[message_id], keep_connection=keep_connection) == 1


def outbox_deliver_many(*, message_ids: Iterable, time_budget: float | None = None,
                        keep_connection: bool = False) -> int:
    """Send each message that is still pending, over one SMTP connection; returns how many this call sent.

    A message that fails keeps its place in the outbox with a backoff (the sweep retries it). When the
    mail server cannot be reached at all, the rest of the batch is left for the sweep instead of each
    waiting for its own connection timeout. With ``time_budget`` (seconds) it stops after the message
    that exceeds it; the rest stay pending for the sweep. With ``keep_connection`` the connection is the
    process's kept one, left open afterwards.
    """
    return _deliver_batch(message_ids, time_budget, keep_connection)[0]


def _deliver_batch(message_ids: Iterable, time_budget: float | None, keep_connection: bool) -> tuple[int, bool]:
    """:func:`outbox_deliver_many`'s work: how many were sent, and whether it stopped because the mail server
    could not be reached."""
    started = time.monotonic()
    sent = 0
    with (kept_mailer() if keep_connection else _Mailer()) as mailer:
        for message_id in message_ids:
            outcome = _deliver(message_id, mailer)
            sent += outcome == SENT
            if outcome == FAILED and _unreachable(mailer):
                logger.warning("Mail server unreachable: the rest of the batch waits for the outbox sweep")
                return sent, True
            if time_budget is not None and time.monotonic() - started > time_budget:
                break
    return sent, False


def _unreachable(mailer: _Mailer) -> bool:
    """After a failure: can a new connection be opened? (It is kept for the next message.)"""
    mailer.close()
    try:
        mailer.connection = get_connection(fail_silently=False)
        mailer.connection.open()
    except Exception:
        mailer.connection = None
        return True
    mailer._fresh = True
    return False


def outbox_due_ids(*, now=None, limit: int = 500) -> list[str]:
    """Ids of pending messages that are due: never tried yet, or their next attempt's time has come. (Never
    tried counts whatever the clocks say: a message written a moment ago on a server whose clock is ahead of
    this worker's is due at once.) The drain asks this many times a second: the SQL is composed once."""
    connection = transaction.get_connection()
    meta = OutboxMessage._meta
    sql = _due_sql.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name

        def column(name: str) -> str:
            return quote(meta.get_field(name).column)

        # identifiers from the model's meta, quoted; every value is a parameter (served by outbox_due_idx)
        sql = _due_sql[connection.vendor] = (
            f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {column('status')} = %s AND ({column('next_attempt_at')} <= %s OR {column('attempts')} = 0) "
            f"ORDER BY {column('next_attempt_at')} LIMIT %s")
    now = meta.get_field("next_attempt_at").get_db_prep_value(now or timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [OutboxMessage.Status.PENDING.value, now, limit])
        return [str(meta.pk.to_python(row[0])) for row in cursor.fetchall()]


_due_sql: dict = {}


def outbox_sweep(*, time_budget: float = 300.0, batch: int = 500, keep_connection: bool = False) -> int:
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
        sent_now = outbox_deliver_many(message_ids=due, time_budget=time_budget - (time.monotonic() - started),
                                       keep_connection=keep_connection)
        sent += sent_now
        if sent_now == 0 or len(due) < batch:  # a short batch was all that was due: no second look
            break
    return sent


def outbox_drain(*, linger: float, poll: float = 0.05, time_budget: float = 300.0, batch: int = 500,
                 hold=lambda: None, hold_every: float = 5.0, drop=lambda: None, handover=lambda: None,
                 keep_connection: bool = False) -> int:
    """Deliver what is due until nothing is left for ``linger`` seconds; returns how many this call sent.

    The task services wake after writing a message (``directory.outbox_drain``; :func:`directory.queue.wake`):
    one task for a burst, not one per message, looking again every ``poll`` seconds while it lingers, so a
    steady stream of messages keeps one task at work. ``hold`` tells writers it will look again (called at the
    first look and every ``hold_every`` seconds after: below the mark's lifetime); ``drop`` that it will not,
    after which it looks once more and goes on (holding again) if anything came. After ``time_budget`` seconds
    it drops and calls ``handover`` (which wakes a new task) instead. Each message is still sent by
    :func:`_deliver`, in a transaction of its own: the exactly-once protocol is the same.
    """
    started = time.monotonic()
    sent = 0
    idle_since = held_at = None
    while True:
        if held_at is None or time.monotonic() - held_at > hold_every:
            hold()
            held_at = time.monotonic()
        due = outbox_due_ids(limit=batch)
        sent_now, unreachable = _deliver_batch(due, time_budget - (time.monotonic() - started),
                                               keep_connection) if due else (0, False)
        sent += sent_now
        now = time.monotonic()
        if unreachable:  # what is left waits for the sweep (its failures back off); a new message wakes a drain
            drop()
            return sent
        if now - started >= time_budget:
            drop()
            handover()  # what is left (or comes) goes to the next task
            return sent
        if sent_now:
            idle_since = None
            continue
        # Nothing due, or nothing this call could send (another worker is sending it; failed: backoff).
        idle_since = now if idle_since is None else idle_since
        if now - idle_since >= linger:
            drop()
            held_at = None
            if not outbox_due_ids(limit=1):  # the look after the drop: written before it, found now
                return sent
            idle_since = None  # came meanwhile (or still locked by another worker): go on
        time.sleep(poll)
