"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, keeping what it receives in memory.

Use the ``smtp_sink`` fixture and point the code under test at ``smtp://127.0.0.1:<sink.port>``
(``sink.url``). The sink can be taken down and brought back on the same port, to show what the
outbox does while the mail server is unreachable.
"""

import email
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from functools import cached_property

import pytest
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the sink received it: its bytes (parsed on first use, :attr:`message`) and its SMTP
    envelope. Parsing is left to whoever reads the message, so that receiving stays cheap (the invitation
    benchmark counts what the sink costs among the CPU the server shares)."""

    content: bytes
    mail_from: str
    rcpt_tos: list[str] = field(default_factory=list)

    @cached_property
    def message(self) -> Message:
        return email.message_from_bytes(self.content, policy=policy.default)

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self._sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._sink.sessions += 1  # one EHLO per connection: how many connections the senders opened
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        self._sink._record(ReceivedMail(content, envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class SmtpSink:
    """An SMTP server on ``host:port`` that collects messages in a thread-safe list."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self._received: list[ReceivedMail] = []
        self.sessions = 0
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    # -- lifecycle
    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def url(self) -> str:
        """An ``EMAIL_URL`` for the project's settings."""
        return f"smtp://{self.host}:{self.port}?timeout=5"

    def start(self) -> "SmtpSink":
        """Start listening (again) on the same host and port; what was received is kept."""
        if self._controller is not None:
            return self
        # A stopped controller has closed its event loop: every start gets a new one.
        controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
        deadline = time.monotonic() + 10
        while True:
            try:
                controller.start()
                break
            except OSError:  # the port is still being released by the previous server
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until :meth:`start`."""
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    # -- what was received
    def _record(self, mail: ReceivedMail) -> None:
        with self._changed:
            self._received.append(mail)
            self._changed.notify_all()

    @property
    def received(self) -> list[ReceivedMail]:
        """Everything received so far (a copy), oldest first."""
        with self._changed:
            return list(self._received)

    @property
    def messages(self) -> list[Message]:
        """The parsed messages received so far (a copy), oldest first."""
        return [mail.message for mail in self.received]

    def clear(self) -> None:
        with self._changed:
            self._received.clear()

    def wait_for(
        self, count: int = 1, timeout: float = 10.0, where: Callable[[ReceivedMail], bool] | None = None,
    ) -> list[ReceivedMail]:
        """Wait until at least ``count`` messages (matching ``where``, if given) arrived; return them."""

        def matching() -> list[ReceivedMail]:
            return [mail for mail in self._received if where is None or where(mail)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                subjects = [mail.subject for mail in self._received]
                raise AssertionError(
                    f"expected {count} message(s) within {timeout}s, the SMTP sink on port {self.port} "
                    f"has {len(matching())} matching of {len(self._received)}: {subjects}"
                )
            return matching()


@pytest.fixture
def smtp_sink():
    """A running SMTP sink on a free port of 127.0.0.1; stopped at teardown."""
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    """Django's SMTP backend pointed at ``smtp_sink`` (what a worker sends with in a deployment)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = smtp_sink.host, smtp_sink.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return settings
