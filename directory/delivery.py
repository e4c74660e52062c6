"""The worker side of the outbox: send a message exactly once, find what is due.

Services write messages (:mod:`directory.services.outbox`); tasks call these. Neither imports the other.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage
from .redaction import redact

logger = logging.getLogger(__name__)


def outbox_deliver(*, message_id: uuid.UUID | str) -> bool:
    """Send one message unless it was sent already. Returns True when this call sent it.

    The row stays locked while it is sent, so a duplicated or retried task waits (or skips) and then
    finds it sent: a message is never sent twice by us.
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxMessage.Status.PENDING)
            .first()
        )
        if message is None:
            return False
        now = timezone.now()
        message.attempts += 1
        message.last_attempt_at = now
        email = EmailMultiAlternatives(
            subject=message.subject, body=message.body_text, from_email=message.from_email,
            to=message.to, cc=message.cc, headers={"X-Portal-Message-Id": str(message.pk)},
        )
        if message.body_html:
            email.attach_alternative(message.body_html, "text/html")
        try:
            email.send(fail_silently=False)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            backoff = settings.OUTBOX_RETRY_BASE_SECONDS * (2 ** min(message.attempts - 1, 8))
            message.next_attempt_at = now + timedelta(seconds=backoff)
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                message.status = OutboxMessage.Status.FAILED
            message.save(update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at", "status"])
            logger.warning("Outbox message %s not delivered: %s", message.pk, message.last_error)
            return False
        message.status = OutboxMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        # Delivered: the stored copy no longer needs the secrets it carried (links, codes).
        message.subject = redact(message.subject, message.secrets)
        message.body_text = redact(message.body_text, message.secrets)
        message.body_html = redact(message.body_html, message.secrets)
        message.secrets = []
        message.save(update_fields=["attempts", "last_attempt_at", "last_error", "status", "sent_at", "subject",
                                    "body_text", "body_html", "secrets"])
        return True


def outbox_due_ids(*, now=None, limit: int = 500) -> list[str]:
    """Ids of pending messages whose next attempt is due."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]
